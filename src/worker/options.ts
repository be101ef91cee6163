/** Operator settings of the worker, shared by `serve` and library users of CondaWorker. */
import os from "node:os";
import path from "node:path";
import { ConfigError } from "../errors.js";
import type { EnvOptions } from "../env/types.js";
import type { LogLimits } from "../session/types.js";
import type { LogShape } from "../session/log-answer.js";
import type { Logger } from "../logger.js";

export interface WorkerOptions {
  /** Environment layer settings (cache dir, package manager, channels...). */
  envOptions: EnvOptions;
  /** Root of the per-session working directories. */
  workingDir: string;
  logLimits: LogLimits;
  /** Answer of get_logs: `items` (Hypha 0.21.135's, plus the seed's lists when untyped) or `seed`. */
  logShape: LogShape;
  /** Grace between SIGTERM and SIGKILL when a session stops. */
  stopGraceMs: number;
  /** When non-empty, only these workspaces may start apps. */
  authorizedWorkspaces?: string[];
  /** Variables passed through to every app (NAME -> value), already validated. */
  passEnv: Record<string, string>;
  /** Used when a start config has no `timeout` (seconds). */
  defaultStartTimeoutS: number;
  /** Upper bound for a progress_callback call before it is abandoned (it never blocks start). */
  progressCallbackTimeoutMs: number;
  logger?: Logger;
}

export { DEFAULT_LOG_LIMITS } from "../session/logs.js";
export const DEFAULT_STOP_GRACE_MS = 5_000;
export const DEFAULT_START_TIMEOUT_S = 60;

/** Returns the default working-dir root (under the OS temp dir, one per user). */
export function defaultWorkingDir(): string {
  return path.join(os.tmpdir(), `hypha-conda-worker-${os.userInfo().username}`, "sessions");
}

// Names a child environment may receive from the operator; anything else is refused.
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED_PREFIXES = ["HYPHA_", "CONDA_", "MAMBA_"];
const RESERVED_NAMES = new Set(["PATH", "PYTHONPATH", "PYTHONHOME", "LD_PRELOAD", "LD_LIBRARY_PATH", "DYLD_INSERT_LIBRARIES"]);

/**
 * Resolves `--pass-env NAME` / `NAME=value` items against `env`. Names the worker controls (HYPHA_*,
 * CONDA_*, PATH...) are refused so an operator cannot hand the worker's token or activation to apps by mistake.
 */
export function resolvePassEnv(items: readonly string[], env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf("=");
    const name = eq >= 0 ? item.slice(0, eq) : item;
    if (!ENV_NAME.test(name)) {
      throw new ConfigError(`--pass-env '${name}' is not a valid environment variable name; use letters, digits and '_' (e.g. --pass-env MY_SETTING).`);
    }
    if (RESERVED_NAMES.has(name) || RESERVED_PREFIXES.some((p) => name.startsWith(p))) {
      throw new ConfigError(
        `--pass-env ${name} is reserved: the worker sets ${name} for each app itself (HYPHA_*, CONDA_*, MAMBA_*, PATH, PYTHON* and loader variables cannot be passed through). Remove it.`,
      );
    }
    const value = eq >= 0 ? item.slice(eq + 1) : env[name];
    if (value === undefined) {
      throw new ConfigError(`--pass-env ${name}: the variable is not set in the worker's environment; export it or pass ${name}=value.`);
    }
    if (value.includes("\0")) throw new ConfigError(`--pass-env ${name}: the value contains a NUL byte; remove it.`);
    out[name] = value;
  }
  return out;
}

/** Parses a comma/space separated workspace list; empty → undefined (no restriction). */
export function parseWorkspaceList(value: string | undefined, flag: string): string[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(/[\s,]+/).filter(Boolean);
  for (const item of items) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.@-]*$/.test(item)) {
      throw new ConfigError(`${flag}: '${item}' is not a valid workspace name; give a comma-separated list such as 'ws-user-alice,public'.`);
    }
  }
  return items.length > 0 ? items : undefined;
}
