/**
 * Solving a spec into a lock without creating anything: the tool's own `create --dry-run --json`, read per
 * face (faces.ts `dryRunRecords`). conda's `actions.LINK` names no URL: its `actions.FETCH` holds the full
 * records of packages not yet in the package cache, and the cached ones' records are read from
 * `<pkgs>/<dist>/info/repodata_record.json` (what conda itself wrote when it extracted them).
 * libmamba's `actions.LINK` carries url, md5 and sha256 for every package.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { EnvError } from "../../errors.js";
import type { Logger } from "../../logger.js";
import type { CacheLayout } from "../cache/cache-layout.js";
import { explainTerseFailure } from "../build/explain-failure.js";
import { buildLockSolveCommand, faceOf, lastJsonObject, diagnoseFailure, runTool } from "../build/package-manager/index.js";
import { scrubToolText } from "../build/create-error.js";
import type { EnvSpec, PackageManagerInfo } from "../types.js";
import { checkPackageUrl, type LockedCondaPackage } from "./lock-file.js";

export interface SolveContext {
  layout: CacheLayout;
  baseEnv: NodeJS.ProcessEnv;
  logger: Logger;
  timeoutMs: number;
  signal?: AbortSignal;
}

type Json = Record<string, unknown>;

/** Runs the dry-run solve of `spec` and returns its packages in link order. */
export async function solveCondaPackages(ctx: SolveContext, spec: EnvSpec, pm: PackageManagerInfo): Promise<LockedCondaPackage[]> {
  if (spec.conda.length === 0) throw new EnvError("E_ENV_LOCK", "the app lists no conda packages, so there is nothing to lock; add e.g. python to its dependencies");
  await fs.mkdir(ctx.layout.pkgsDir, { recursive: true });
  if (faceOf(pm).flavour === "libmamba") await fs.mkdir(ctx.layout.mambaRootDir, { recursive: true });
  const workDir = await fs.mkdtemp(path.join(os.tmpdir(), "hypha-conda-solve-"));
  try {
    const command = buildLockSolveCommand(pm, { prefix: path.join(workDir, "env"), channels: spec.channels, specs: spec.conda }, ctx.layout, ctx.baseEnv);
    ctx.logger.debug(`running ${pm.path} ${command.args.join(" ")}`);
    const runOptions = { timeoutMs: ctx.timeoutMs, cwd: workDir, ...(ctx.signal ? { signal: ctx.signal } : {}) };
    // libmamba ≥ 2.8's terse JSON names no package: ask again without --json, as a create failure does.
    const run = await explainTerseFailure(command, await runTool(command, runOptions), runOptions);
    const doc = run.exitCode === 0 ? lastJsonObject(run.stdout) : undefined;
    if (!doc || doc.success !== true) {
      if (run.timedOut) throw new EnvError("E_ENV_TIMEOUT", `solving the lock with ${pm.name} ${pm.version} took longer than ${Math.round(ctx.timeoutMs / 1000)} s; raise --env-timeout or check the channels are reachable`);
      const diagnosis = diagnoseFailure(run);
      throw new EnvError("E_ENV_CREATE", `solving the app's dependencies into a lock with ${pm.name} ${pm.version} failed: ${scrubToolText(diagnosis.summary)}\nFix the dependencies or channels; nothing was created.`, {
        details: { diagnosis: diagnosis.kind, ...(diagnosis.packages ? { packages: diagnosis.packages } : {}), exitCode: run.exitCode, stderrTail: diagnosis.stderrTail.map(scrubToolText) },
      });
    }
    const actions = (doc.actions ?? {}) as Json;
    const link = Array.isArray(actions.LINK) ? (actions.LINK as Json[]) : [];
    if (link.length === 0) throw new EnvError("E_ENV_LOCK", `${pm.name} ${pm.version} solved the app's dependencies to no packages; check the dependencies`);
    return faceOf(pm).dryRunRecords === "libmamba-link"
      ? link.map((entry) => lockedPackage(entry, pm))
      : await Promise.all(link.map((entry) => condaLinkRecord(entry, Array.isArray(actions.FETCH) ? (actions.FETCH as Json[]) : [], ctx.layout.pkgsDir, pm)));
  } finally {
    await fs.rm(workDir, { recursive: true, force: true }).catch(() => undefined);
  }
}

const str = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined);

function lockedPackage(record: Json, pm: PackageManagerInfo): LockedCondaPackage {
  const name = str(record.name);
  const version = str(record.version);
  const build = str(record.build) ?? str(record.build_string);
  const url = str(record.url);
  if (!name || !version || !build || !url) {
    throw new EnvError("E_PACKAGE_MANAGER", `${pm.name} ${pm.version} reported a package without name, version, build or url in its dry run (${JSON.stringify(record).slice(0, 200)}); this tool's output is not supported for locking`);
  }
  const md5 = str(record.md5);
  const sha256 = str(record.sha256);
  if (!md5 && !sha256) throw new EnvError("E_ENV_LOCK", `the channel gives no md5 or sha256 for ${url}, so it cannot be locked; use a channel whose repodata has checksums`);
  return { name, version, build, url: checkPackageUrl(url), ...(md5 ? { md5 } : {}), ...(sha256 ? { sha256 } : {}) };
}

/** A conda LINK entry (dist_fields_dump: no URL) completed from FETCH or the package cache's record. */
async function condaLinkRecord(entry: Json, fetch: Json[], pkgsDir: string, pm: PackageManagerInfo): Promise<LockedCondaPackage> {
  const dist = str(entry.dist_name) ?? `${String(entry.name)}-${String(entry.version)}-${String(entry.build_string)}`;
  const fetched = fetch.find((f) => `${String(f.name)}-${String(f.version)}-${String(f.build ?? f.build_string)}` === dist);
  if (fetched) return lockedPackage(fetched, pm);
  if (!/^[A-Za-z0-9_.+!-]+$/.test(dist)) throw new EnvError("E_PACKAGE_MANAGER", `${pm.name} reported an unexpected package name ${JSON.stringify(dist)} in its dry run`);
  try {
    const record = JSON.parse(await fs.readFile(path.join(pkgsDir, dist, "info", "repodata_record.json"), "utf8")) as Json;
    return lockedPackage(record, pm);
  } catch (error) {
    if (error instanceof EnvError) throw error;
    throw new EnvError("E_ENV_LOCK", `${dist} is in the package cache without a readable info/repodata_record.json, so its URL and checksum are unknown; run \`hypha-conda-worker cache gc\` or remove ${path.join(pkgsDir, dist)} and lock again`, { cause: error });
  }
}
