/**
 * Building an env from a lock: the conda packages as an `@EXPLICIT` list (each URL with its checksum, so the
 * tool downloads exactly those files and solves nothing), then the pinned pip requirements with `--no-deps`
 * (pip resolves nothing either). A locked create counts only when every locked package has its
 * conda-meta record: conda's explicit install prints no JSON result, so the records are the one rule for
 * every tool.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { EnvError } from "../../errors.js";
import type { EnvLock } from "../lock/lock-file.js";
import { pipPins } from "../lock/lock-file.js";
import { RELOCK_HINT } from "../lock/apply-lock.js";
import type { ToolRun } from "./package-manager/run-tool.js";
import { filterToolEnv } from "./package-manager/argv.js";
import { baseActivation } from "./activation.js";
import { pythonPathOf } from "../cache/cache-layout.js";
import { loadExeca } from "../../load-execa.js";
import { scrubToolText } from "./create-error.js";

/** The explicit list: platform comment, marker, one `url#sha256:<hex>` (or `url#<md5>`) per package, in link order. */
export function explicitListText(lock: EnvLock): string {
  const lines = lock.conda.map((p) => `${p.url}#${p.sha256 ? `sha256:${p.sha256}` : p.md5!}`);
  return `# platform: ${lock.subdir}\n# written by hypha-conda-worker from ${lock.specHash.slice(0, 12)}\n@EXPLICIT\n${lines.join("\n")}\n`;
}

/** The pip file of a locked build: the spec's option lines (index URLs the operator allowed), then the pins. */
export function pinnedRequirementsText(lock: EnvLock, specPip: readonly string[]): string {
  return `${[...specPip.filter((line) => line.startsWith("-")), ...pipPins(lock)].join("\n")}\n`;
}

/** Returns why a locked create did not produce the locked env, or undefined when every record is there. */
export async function findMissingLockedRecords(prefix: string, lock: EnvLock): Promise<string | undefined> {
  try {
    await fs.access(path.join(prefix, "conda-meta", "history"));
  } catch {
    return "the prefix has no conda-meta/history";
  }
  const names = new Set(await fs.readdir(path.join(prefix, "conda-meta")));
  const missing = lock.conda.filter((p) => !names.has(`${p.name}-${p.version}-${p.build}.json`));
  return missing.length ? `no conda-meta record for ${missing.map((p) => `${p.name}-${p.version}-${p.build}`).join(", ")}` : undefined;
}

/** A failed locked create whose output names a locked package URL or file: the package is gone (or changed). */
export function goneLockedPackage(run: Pick<ToolRun, "stdout" | "stderrTail">, lock: EnvLock): string | undefined {
  const output = `${run.stdout}\n${run.stderrTail.join("\n")}`;
  return lock.conda.find((p) => output.includes(p.url) || output.includes(p.url.split("/").pop()!))?.url;
}

export function lockStaleError(url: string, run: Pick<ToolRun, "stdout" | "stderrTail">, hash: string): EnvError {
  const said = scrubToolText(`${run.stderrTail.slice(-3).join(" ")}`.trim() || run.stdout.trim().slice(-300));
  return new EnvError("E_ENV_LOCK_STALE", `the locked package ${url} could not be fetched or did not match its checksum (${said}); the env was not created. The lock is stale: ${RELOCK_HINT}`, {
    details: { hash, url, reason: "package-gone" },
  });
}

/** Installs the pinned pip requirements with pip's own resolver off; throws E_ENV_CREATE with pip's error. */
export async function installPinnedPip(prefix: string, requirementsFile: string, baseEnv: NodeJS.ProcessEnv, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const env = { ...filterToolEnv(baseEnv), PATH: baseActivation(prefix).PATH!, PIP_DISABLE_PIP_VERSION_CHECK: "1" };
  const execa = await loadExeca();
  const result = await execa(pythonPathOf(prefix), ["-m", "pip", "install", "--no-deps", "--no-input", "-r", requirementsFile], {
    env, extendEnv: false, reject: false, timeout: timeoutMs, cancelSignal: signal, stdin: "ignore", cwd: path.dirname(requirementsFile),
  });
  if (result.exitCode !== 0) {
    const tail = scrubToolText(String(result.stderr ?? "")).split("\n").filter((l) => l.trim()).slice(-5).join(" ");
    throw new EnvError("E_ENV_CREATE", `installing the locked pip requirements failed: ${tail || result.shortMessage}; if a pinned version is gone from the index, ${RELOCK_HINT}`, {
      details: { prefix, diagnosis: "pip-failed", stderrTail: scrubToolText(String(result.stderr ?? "")).split("\n").slice(-20) },
    });
  }
}
