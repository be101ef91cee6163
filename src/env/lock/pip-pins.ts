/**
 * Pinning the `pip:` section: pip needs the env's own python to resolve (markers, wheels' tags), so the
 * locked conda packages are created into a throwaway prefix (explicit list, no solve) and pip is asked
 * `install --dry-run --report` there. What pip would install on top of the conda packages is pinned as
 * `name==version`; what conda already provides is not listed (pip sees it installed). The prefix is removed.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadExeca } from "../../load-execa.js";
import { EnvError } from "../../errors.js";
import { acquireLock } from "../cache/lock.js";
import { pkgsLockPath, pythonPathOf } from "../cache/cache-layout.js";
import { buildExplicitCreateCommand, filterToolEnv, runTool } from "../build/package-manager/index.js";
import { baseActivation } from "../build/activation.js";
import { explicitListText, findMissingLockedRecords } from "../build/locked-create.js";
import { scrubToolText } from "../build/create-error.js";
import { normalizePipName } from "../spec/pip-requirement.js";
import type { EnvSpec, PackageManagerInfo } from "../types.js";
import type { EnvLock, LockedPipPackage } from "./lock-file.js";
import type { SolveContext } from "./solve-lock.js";

/** Returns the pinned pip packages for `spec.pip` on top of `condaLock`'s packages. */
export async function pinPipRequirements(ctx: SolveContext & { lockStaleMs: number }, spec: EnvSpec, condaLock: EnvLock, pm: PackageManagerInfo): Promise<LockedPipPackage[]> {
  if (spec.pip.length === 0) return [];
  const workDir = await fs.mkdtemp(path.join(os.tmpdir(), "hypha-conda-pip-lock-"));
  const prefix = path.join(workDir, "env");
  try {
    const explicitFile = path.join(workDir, "explicit.txt");
    await fs.writeFile(explicitFile, explicitListText(condaLock), { mode: 0o600 });
    const command = buildExplicitCreateCommand(pm, { prefix, explicitFile }, ctx.layout, ctx.baseEnv);
    // The throwaway create shares the package cache: one create at a time, as for every create.
    const pkgsLock = await acquireLock(pkgsLockPath(ctx.layout), { label: "the package cache", staleMs: ctx.lockStaleMs, waitTimeoutMs: 4 * ctx.timeoutMs, ...(ctx.signal ? { signal: ctx.signal } : {}) });
    let run;
    try {
      run = await runTool(command, { timeoutMs: ctx.timeoutMs, cwd: workDir, ...(ctx.signal ? { signal: ctx.signal } : {}) });
    } finally {
      await pkgsLock.release();
    }
    const missing = run.exitCode === 0 ? await findMissingLockedRecords(prefix, condaLock) : `exit code ${run.exitCode}`;
    if (missing) {
      throw new EnvError("E_ENV_CREATE", `creating a scratch env to pin the pip requirements failed (${missing}): ${scrubToolText(run.stderrTail.slice(-5).join(" "))}`);
    }
    const requirements = path.join(workDir, "requirements.txt");
    await fs.writeFile(requirements, `${spec.pip.join("\n")}\n`, { mode: 0o600 });
    const report = path.join(workDir, "report.json");
    const execa = await loadExeca();
    const result = await execa(pythonPathOf(prefix), ["-m", "pip", "install", "--dry-run", "--quiet", "--no-input", "--report", report, "-r", requirements], {
      env: { ...filterToolEnv(ctx.baseEnv), PATH: baseActivation(prefix).PATH!, PIP_DISABLE_PIP_VERSION_CHECK: "1" },
      extendEnv: false, reject: false, timeout: ctx.timeoutMs, stdin: "ignore", cwd: workDir, ...(ctx.signal ? { cancelSignal: ctx.signal } : {}),
    });
    if (result.exitCode !== 0) {
      const tail = scrubToolText(String(result.stderr ?? "")).split("\n").filter((l) => l.trim()).slice(-5).join(" ");
      throw new EnvError("E_ENV_CREATE", `pip could not resolve the app's pip requirements for the lock: ${tail || result.shortMessage}; fix the pip: section`, { details: { diagnosis: "pip-failed" } });
    }
    return readReport(await fs.readFile(report, "utf8"));
  } finally {
    await fs.rm(workDir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** pip's installation report (pip ≥ 22.2): `install[].metadata.{name, version}`. */
export function readReport(text: string): LockedPipPackage[] {
  const doc = JSON.parse(text) as { install?: Array<{ metadata?: { name?: unknown; version?: unknown } }> };
  const out: LockedPipPackage[] = [];
  for (const item of doc.install ?? []) {
    const name = item.metadata?.name;
    const version = item.metadata?.version;
    if (typeof name !== "string" || typeof version !== "string") throw new EnvError("E_ENV_LOCK", "pip's installation report lists a package without name or version; upgrade pip in the env (≥ 22.2)");
    out.push({ name: normalizePipName(name), version });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
