/**
 * ensure-env (design.md "Environment cache"): a lock-free hit reads and validates the marker and starts no
 * process; a miss takes the per-hash lock, re-checks, wipes any partial prefix, creates in place (envs are
 * not relocatable) while holding the package-cache lock, verifies python, computes activation, and writes
 * the marker last. A failed create leaves nothing behind.
 */
import { constants as fsConstants, promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadExeca } from "../../load-execa.js";
import { EnvError } from "../../errors.js";
import type { Logger } from "../../logger.js";
import { createProgressReporter, type ProgressReporter } from "../../progress.js";
import type { EnsureEnvOptions, EnvOptions, EnvResult, EnvSpec, PackageManagerInfo } from "../types.js";
import { envDirName, hashEnvSpec, toEnvironmentYaml } from "../spec/hash.js";
import { envLockPath, envPrefixFor, pkgsLockPath, pythonPathOf, type CacheLayout } from "../cache/cache-layout.js";
import { acquireLock, acquireLockUnless, type HeldLock } from "../cache/lock.js";
import { readMarker, touchLastUsed, writeMarker, type EnvMarker } from "../cache/marker.js";
import { baseActivation, computeActivation } from "./activation.js";
import { directorySize } from "../operator/cache-list.js";
import { buildCreateCommand, buildExplicitCreateCommand, faceOf, flavourOf, type ToolCommand } from "./package-manager/index.js";
import { explicitListText, findMissingLockedRecords, goneLockedPackage, installPinnedPip, lockStaleError, pinnedRequirementsText } from "./locked-create.js";
import { findUnconfirmedCreate } from "./confirm-create.js";
import { explainTerseFailure } from "./explain-failure.js";
import { runTool, type ToolRun } from "./package-manager/run-tool.js";
import { createError, scrubToolText } from "./create-error.js";
import { assertEnvSpecShape } from "../spec/spec-guard.js";
import { environmentsFileFor, unregisterEnv } from "./unregister-env.js";

export interface EnsureContext {
  options: EnvOptions;
  layout: CacheLayout;
  logger: Logger;
  /** The worker's environment; filtered before it reaches the tool. */
  baseEnv: NodeJS.ProcessEnv;
  packageManager: (onProgress?: EnsureEnvOptions["onProgress"]) => Promise<PackageManagerInfo>;
  lockStaleMs: number;
  /** Minimum gap between two `creating` progress events carrying tool lines. */
  lineProgressIntervalMs?: number;
}

const short = (hash: string) => hash.slice(0, 12);

/** Returns a ready env for `spec`. */
export async function ensureEnv(ctx: EnsureContext, spec: EnvSpec, options: EnsureEnvOptions = {}): Promise<EnvResult> {
  const started = Date.now();
  const progress = createProgressReporter(options.onProgress, started);
  assertEnvSpecShape(spec);
  const hash = hashEnvSpec(spec);
  const prefix = envPrefixFor(ctx.layout, envDirName(spec, hash));
  progress.report("resolving", "info", `environment ${short(hash)} at ${prefix}${spec.lock ? " (locked)" : ""}`, { hash, prefix });
  if (spec.lockNote) progress.report("resolving", "warning", spec.lockNote, { hash });

  const hit = await readHit(prefix, hash);
  if (hit) return cachedResult(hit, started, progress);

  progress.report("cache", "info", `cache miss for ${short(hash)}: the env will be created`, { hash, prefix });
  const pm = await ctx.packageManager(progress.sink);
  const timeoutMs = ctx.options.createTimeoutMs;
  // Waiters re-read the marker between attempts, so they all return as soon as the holder's create lands.
  let waitedHit: EnvMarker | undefined;
  const lock = await acquireLockUnless(envLockPath(ctx.layout, hash), {
    label: `env ${short(hash)}`,
    staleMs: ctx.lockStaleMs,
    // The holder may itself wait for the package cache before its create: allow both.
    waitTimeoutMs: 2 * timeoutMs + 60_000,
    ...(options.signal ? { signal: options.signal } : {}),
    holderInfo: { hash, prefix, state: "creating" },
    onWaiting: (seconds, holder) =>
      progress.report("waiting", "info", `still waiting on ${short(hash)} (held by ${holder ? `pid ${holder.pid} on ${holder.hostname}` : "another process"}) ${seconds}s`, { hash }),
    onCompromised: (error) => ctx.logger.warn(`lock on env ${short(hash)} was lost: ${error.message}; stopping the create`),
  }, async () => Boolean((waitedHit = await readHit(prefix, hash))));
  if (!lock) return cachedResult(waitedHit!, started, progress);
  try {
    const again = await readHit(prefix, hash);
    if (again) return cachedResult(again, started, progress);
    const marker = await createLocked(ctx, { spec, hash, prefix, pm, progress, lock, ...(options.signal ? { signal: options.signal } : {}) });
    const seconds = (Date.now() - started) / 1000;
    progress.report("done", "success", `created env ${short(hash)} in ${seconds.toFixed(1)} s`, { hash, prefix });
    ctx.logger.info(`created env ${short(hash)} at ${prefix} with ${pm.name} ${pm.version} in ${seconds.toFixed(1)} s`);
    return { hash, prefix, pythonPath: pythonPathOf(prefix), activation: marker.activation, status: "created", seconds, packageManager: pm };
  } finally {
    await lock.release();
  }
}

/** The marker of a usable env, or undefined. Costs a file read and an access() call, no process. */
async function readHit(prefix: string, hash: string): Promise<EnvMarker | undefined> {
  const marker = await readMarker(prefix);
  if (!marker || marker.hash !== hash) return undefined;
  try {
    await fs.access(pythonPathOf(prefix), fsConstants.X_OK);
  } catch {
    return undefined;
  }
  return marker;
}

async function cachedResult(marker: EnvMarker, started: number, progress: ProgressReporter): Promise<EnvResult> {
  await touchLastUsed(marker.prefix);
  const seconds = (Date.now() - started) / 1000;
  progress.report("cache", "success", `cache hit: env ${short(marker.hash)} is ready`, { hash: marker.hash, prefix: marker.prefix });
  return { hash: marker.hash, prefix: marker.prefix, pythonPath: pythonPathOf(marker.prefix), activation: marker.activation, status: "cached", seconds };
}

interface CreateJob {
  spec: EnvSpec;
  hash: string;
  prefix: string;
  pm: PackageManagerInfo;
  progress: ProgressReporter;
  lock: HeldLock;
  signal?: AbortSignal;
}

async function createLocked(ctx: EnsureContext, job: CreateJob): Promise<EnvMarker> {
  const { layout } = ctx;
  const { prefix, hash, pm, progress } = job;
  // Anything at the prefix without a valid marker is a partial env from a crashed or failed create.
  await fs.rm(prefix, { recursive: true, force: true });
  await Promise.all([layout.envsDir, layout.pkgsDir, ...(flavourOf(pm) === "libmamba" ? [layout.mambaRootDir] : [])].map((d) => fs.mkdir(d, { recursive: true })));
  const workDir = await fs.mkdtemp(path.join(os.tmpdir(), "hypha-conda-env-"));
  const stop = AbortSignal.any([job.lock.lost, ...(job.signal ? [job.signal] : [])]);
  try {
    const lock = job.spec.lock;
    const command = await writeCreateInput(ctx, job, workDir);
    const run = await runCreate(ctx, job, command, workDir, stop);
    const failed = run.timedOut || run.aborted || run.spawnError !== undefined || run.exitCode !== 0;
    // A locked create whose tool names a locked URL: the package is gone from its channel (or changed).
    const gone = failed && lock && !run.timedOut && !run.aborted ? goneLockedPackage(run, lock) : undefined;
    if (gone) throw lockStaleError(gone, run, hash);
    if (failed) throw createError({ ...job, createTimeoutMs: ctx.options.createTimeoutMs }, run);
    const unconfirmed = lock ? await findMissingLockedRecords(prefix, lock) : await findUnconfirmedCreate(run, prefix, faceOf(pm));
    if (unconfirmed) throw createError({ ...job, createTimeoutMs: ctx.options.createTimeoutMs }, { ...run, unconfirmed });
    if (lock && lock.pip.length > 0) {
      progress.report("creating", "info", `installing ${lock.pip.length} pinned pip package(s) without resolving`, { hash });
      await installPinnedPip(prefix, path.join(workDir, "requirements.txt"), ctx.baseEnv, ctx.options.createTimeoutMs, stop);
    }
    progress.report("verifying", "info", `verifying ${pythonPathOf(prefix)}`, { hash });
    await verifyPython(prefix);
    const activation = await computeActivation(prefix, { variables: job.spec.variables });
    const marker: EnvMarker = {
      format: 1,
      hash,
      spec: job.spec,
      prefix,
      createdAt: new Date().toISOString(),
      packageManager: pm,
      activation,
      sizeBytes: await directorySize(prefix),
    };
    if (stop.aborted) throw createError({ ...job, createTimeoutMs: ctx.options.createTimeoutMs }, { aborted: true });
    await writeMarker(marker);
    await touchLastUsed(prefix);
    return marker;
  } catch (error) {
    await fs.rm(prefix, { recursive: true, force: true }).catch(() => undefined);
    progress.report("failed", "error", error instanceof Error ? error.message : String(error), { hash });
    throw error;
  } finally {
    await fs.rm(workDir, { recursive: true, force: true }).catch(() => undefined);
    await unregisterEnv(environmentsFileFor(ctx.baseEnv), prefix).catch((error: Error) => ctx.logger.warn(`could not take ${prefix} out of ${environmentsFileFor(ctx.baseEnv)}: ${error.message}`));
  }
}

/** Writes the tool's input into the private work dir: the environment.yml, or for a lock the explicit list and pip pins. */
async function writeCreateInput(ctx: EnsureContext, job: CreateJob, workDir: string): Promise<ToolCommand> {
  const { lock } = job.spec;
  if (lock) {
    const explicitFile = path.join(workDir, "explicit.txt");
    await fs.writeFile(explicitFile, explicitListText(lock), { mode: 0o600 });
    if (lock.pip.length > 0) await fs.writeFile(path.join(workDir, "requirements.txt"), pinnedRequirementsText(lock, job.spec.pip), { mode: 0o600 });
    return buildExplicitCreateCommand(job.pm, { prefix: job.prefix, explicitFile }, ctx.layout, ctx.baseEnv);
  }
  const envFile = path.join(workDir, "environment.yml");
  await fs.writeFile(envFile, environmentYamlFor(job.spec, job.pm), { mode: 0o600 });
  return buildCreateCommand(job.pm, { prefix: job.prefix, envFile, channels: job.spec.channels }, ctx.layout, ctx.baseEnv);
}

async function runCreate(ctx: EnsureContext, job: CreateJob, command: ToolCommand, workDir: string, stop: AbortSignal): Promise<ToolRun> {
  const { progress, hash, pm } = job;
  // Creates sharing one package cache corrupt each other when it is cold (reference): one at a time.
  const pkgsLock = await acquireLock(pkgsLockPath(ctx.layout), {
    label: "the package cache",
    staleMs: ctx.lockStaleMs,
    waitTimeoutMs: 4 * ctx.options.createTimeoutMs,
    signal: stop,
    holderInfo: { hash, state: "creating" },
    onWaiting: (seconds, holder) =>
      progress.report("waiting", "info", `waiting for the package cache (used by ${holder ? `pid ${holder.pid} on ${holder.hostname}` : "another create"}) ${seconds}s`, { hash }),
    onCompromised: (error) => ctx.logger.warn(`package-cache lock lost: ${error.message}`),
  });
  try {
    const how = job.spec.lock ? ` from its lock (${job.spec.lock.conda.length} packages, no solve)` : "";
    progress.report("creating", "info", `creating env ${short(hash)} with ${pm.name} ${pm.version}${how}`, { hash, packageManager: pm, locked: Boolean(job.spec.lock) });
    ctx.logger.debug(`running ${pm.path} ${command.args.join(" ")}`);
    const interval = ctx.lineProgressIntervalMs ?? 250;
    const jsonOutput = command.args.includes("--json");
    let lastLine = 0;
    const run = await runTool(command, {
      timeoutMs: ctx.options.createTimeoutMs,
      signal: AbortSignal.any([stop, pkgsLock.lost]),
      cwd: workDir,
      // Recorded so that whoever takes over a lock this process died holding can kill the orphaned tool.
      onSpawn: (pid) => {
        void job.lock.updateHolder({ childPgid: pid, childPath: pm.path }).catch(() => undefined);
        void pkgsLock.updateHolder({ childPgid: pid, childPath: pm.path }).catch(() => undefined);
      },
      onLine: (line, stream) => {
        // conda --json separates its fetch progress records with NUL; a finished one is worth reporting.
        const fetched = stream === "stdout" && jsonOutput ? /^\0?\{"fetch":"([^"]{1,200})","finished":true/.exec(line) : null;
        const text = fetched ? scrubToolText(`downloaded ${fetched[1]}`) : scrubToolText(line).replace(/\0/g, "").trim();
        // With --json, stdout is otherwise one JSON document: its lines are not progress.
        if (!text || (!fetched && stream === "stdout" && jsonOutput && /^[{}[\]"]/.test(text))) return;
        ctx.logger.debug(`${pm.name}: ${text}`);
        const now = Date.now();
        if (now - lastLine < interval) return;
        lastLine = now;
        progress.report("creating", "info", text.slice(0, 500), { hash, stream });
      },
    });
    return await explainTerseFailure(command, run, { timeoutMs: Math.min(ctx.options.createTimeoutMs, 120_000), cwd: workDir, signal: stop });
  } finally {
    await pkgsLock.release();
  }
}

/**
 * The environment.yml handed to the tool. Only the spec's channels may be solved from (the hash names them):
 * where the tool's face strips `nodefaults` (conda 23.7–26.5's env installers) it is listed to keep a .condarc
 * list and `defaults` out; elsewhere it would be a channel name (conda ≥ 26.7) and the command line says it.
 */
export function environmentYamlFor(spec: EnvSpec, pm: PackageManagerInfo): string {
  const withNodefaults = faceOf(pm).channelMode === "nodefaults-in-file";
  const channels = spec.channels.filter((c) => c !== "nodefaults");
  return toEnvironmentYaml({ ...spec, channels: withNodefaults ? [...channels, "nodefaults"] : channels });
}

async function verifyPython(prefix: string): Promise<void> {
  const python = pythonPathOf(prefix);
  const execa = await loadExeca();
  const result = await execa(python, ["-c", "import sys; print(sys.version)"], {
    env: { PATH: baseActivation(prefix).PATH! },
    extendEnv: false,
    reject: false,
    timeout: 60_000,
    stdin: "ignore",
  });
  if (result.exitCode !== 0) {
    throw new EnvError("E_ENV_VERIFY", `the new env's python did not run (${python}: ${result.shortMessage}); the env was removed. Add "python" to the dependencies or check the channel's python package`, {
      details: { prefix, stderr: scrubToolText(String(result.stderr ?? "")).slice(-2000) },
    });
  }
}
