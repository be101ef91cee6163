/** The errors of a failed create: the tool's own diagnosis, redacted, with how to fix it. */
import { EnvError, type WorkerError } from "../../errors.js";
import { redact } from "../../redact.js";
import type { PackageManagerInfo } from "../types.js";
import type { HeldLock } from "../cache/lock.js";
import { diagnoseFailure, type Diagnosis } from "./package-manager/diagnose.js";
import type { ToolRun } from "./package-manager/run-tool.js";

export interface FailedCreate {
  hash: string;
  prefix: string;
  pm: PackageManagerInfo;
  lock: Pick<HeldLock, "lost">;
  createTimeoutMs: number;
}

const short = (hash: string) => hash.slice(0, 12);

export function createError(job: FailedCreate, run: Partial<ToolRun> & { unconfirmed?: string }): WorkerError {
  const who = `${job.pm.name} ${job.pm.version}`;
  const base = { hash: job.hash, prefix: job.prefix, packageManager: job.pm };
  if (run.timedOut) {
    const seconds = Math.round(job.createTimeoutMs / 1000);
    return new EnvError("E_ENV_TIMEOUT", `creating env ${short(job.hash)} with ${who} took longer than ${seconds} s and was stopped; nothing was cached. Raise the create timeout (--env-timeout) or check the channels are reachable`, { details: base });
  }
  if (run.aborted) {
    if (job.lock.lost.aborted) {
      return new EnvError("E_LOCK", `the lock on env ${short(job.hash)} was lost during the create (its heartbeat could not be written, or another process took it over); the create was stopped. Check the cache filesystem and retry`, { details: base });
    }
    return new EnvError("E_ENV_CREATE", `creating env ${short(job.hash)} was cancelled; nothing was cached`, { details: { ...base, cancelled: true } });
  }
  if (run.spawnError !== undefined) {
    return new EnvError("E_PACKAGE_MANAGER", `could not start ${job.pm.path}: ${run.spawnError}; check the package manager (--package-manager)`, { details: base });
  }
  const diagnosis = diagnoseFailure({ stdout: run.stdout ?? "", stderrTail: run.stderrTail ?? [], exitCode: run.exitCode });
  const summary = scrubToolText(diagnosis.summary);
  const failed = run.unconfirmed ? `exited 0 but did not create the env (${run.unconfirmed})` : "failed";
  return new EnvError("E_ENV_CREATE", `creating env ${short(job.hash)} with ${who} ${failed}: ${summary}\n${adviceFor(diagnosis)}`, {
    details: {
      ...base,
      exitCode: run.exitCode,
      ...(run.unconfirmed ? { unconfirmed: run.unconfirmed } : {}),
      diagnosis: diagnosis.kind,
      ...(diagnosis.exceptionName ? { exceptionName: diagnosis.exceptionName } : {}),
      ...(diagnosis.packages ? { packages: diagnosis.packages } : {}),
      ...(diagnosis.problems ? { problems: diagnosis.problems.map(scrubToolText) } : {}),
      stderrTail: diagnosis.stderrTail.map(scrubToolText),
    },
  });
}

function adviceFor(diagnosis: Diagnosis): string {
  switch (diagnosis.kind) {
    case "packages-not-found":
      return `Fix the package names or versions (${(diagnosis.packages ?? []).join(", ")}) or add the channel that has them; the partial env was removed.`;
    case "unsatisfiable":
      return "Relax the version constraints so they can be satisfied together; the partial env was removed.";
    case "pip-failed":
      return "Fix the pip: requirements (pip's error is above); the half-built env was removed.";
    default:
      return "See the package manager's output above; the partial env was removed.";
  }
}

/** Redacts known secrets and credentials embedded in URLs (user:pass@, conda /t/<token>/) from tool text. */
export function scrubToolText(text: string): string {
  return redact(text)
    .replace(/(\w+:\/\/)[^\s/@:]+:[^\s/@]+@/g, "$1***@")
    .replace(/\/t\/[A-Za-z0-9._-]{6,}\//g, "/t/***/");
}
