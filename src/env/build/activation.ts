/**
 * The variables that activating an env sets, computed once at create and cached in the marker: PATH with
 * PREFIX/bin first, CONDA_PREFIX, CONDA_DEFAULT_ENV, CONDA_SHLVL, the spec's `variables:`, and whatever the
 * env's `etc/conda/activate.d/*.sh` scripts export. The scripts are sourced by a shell started with a clean
 * environment; `env -0` before and after shows what they changed. Script paths are passed as arguments to a
 * constant script, never spliced into shell text.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { loadExeca } from "../../load-execa.js";
import { EnvError } from "../../errors.js";
import { findOnPath } from "./package-manager/detect.js";

/** The PATH behind PREFIX/bin in an activated env's child: the system directories only, nothing of the worker. */
export const BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const SEPARATOR = "__HYPHA_CONDA_WORKER_ACTIVATION__";
// Set by every shell on its own; never part of what activation exports.
const SHELL_NOISE = new Set(["PWD", "OLDPWD", "SHLVL", "_", "PS1", "PS2", "PS4", "IFS", "OPTIND", "PPID", "BASH_EXECUTION_STRING"]);
const ACTIVATE_SCRIPT = [
  'env -0',
  `printf '\\0${SEPARATOR}\\0'`,
  // Like conda, a script's exit status is ignored; a script that exits the shell is an error (no second dump).
  'for f in "$@"; do . "$f"; done',
  'env -0',
].join("\n");

export interface ActivationOptions {
  variables?: Record<string, string>;
  timeoutMs?: number;
  /** Where to find bash/sh (defaults to BASE_PATH). */
  shellSearchPath?: string;
}

/** The variables every activation sets, before activate.d scripts. */
export function baseActivation(prefix: string, variables: Record<string, string> = {}): Record<string, string> {
  return {
    ...variables,
    PATH: `${path.join(prefix, "bin")}:${BASE_PATH}`,
    CONDA_PREFIX: prefix,
    CONDA_DEFAULT_ENV: prefix,
    CONDA_SHLVL: "1",
    CONDA_PROMPT_MODIFIER: `(${prefix}) `,
  };
}

/** Lists `PREFIX/etc/conda/activate.d/*.sh`, sorted like the shell's glob. */
export async function listActivateScripts(prefix: string): Promise<string[]> {
  const dir = path.join(prefix, "etc", "conda", "activate.d");
  try {
    const names = (await fs.readdir(dir)).filter((n) => n.endsWith(".sh")).sort();
    return names.map((n) => path.join(dir, n));
  } catch {
    return [];
  }
}

/** Computes the activation variables of `prefix`. */
export async function computeActivation(prefix: string, options: ActivationOptions = {}): Promise<Record<string, string>> {
  const base = baseActivation(prefix, options.variables);
  const scripts = await listActivateScripts(prefix);
  if (scripts.length === 0) return base;
  const searchPath = options.shellSearchPath ?? `${BASE_PATH}:${process.env.PATH ?? ""}`;
  const shell = (await findOnPath("bash", searchPath)) ?? (await findOnPath("sh", searchPath));
  if (!shell) {
    throw new EnvError("E_ENV_VERIFY", `cannot run the activation scripts of ${prefix}: neither bash nor sh was found; install a POSIX shell`);
  }
  const execa = await loadExeca();
  const result = await execa(shell, ["-c", ACTIVATE_SCRIPT, "activate", ...scripts], {
    env: base,
    extendEnv: false,
    cwd: prefix,
    stdin: "ignore",
    reject: false,
    timeout: options.timeoutMs ?? 60_000,
    encoding: "utf8",
    stripFinalNewline: false,
  });
  const output = String(result.stdout ?? "");
  const marker = `\0${SEPARATOR}\0`;
  const at = output.indexOf(marker);
  if (result.exitCode !== 0 || at < 0) {
    const tail = String(result.stderr ?? "").split("\n").slice(-5).join("\n");
    throw new EnvError("E_ENV_VERIFY", `an activation script of ${prefix} failed (exit ${result.exitCode ?? result.signal}): ${tail}; fix or remove the package that installs it`, {
      details: { scripts },
    });
  }
  const before = parseEnv0(output.slice(0, at));
  const after = parseEnv0(output.slice(at + marker.length));
  const activation = { ...base };
  for (const [name, value] of Object.entries(after)) {
    if (SHELL_NOISE.has(name) || name === "HOME") continue;
    if (before[name] !== value) activation[name] = value;
  }
  return activation;
}

function parseEnv0(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of text.split("\0")) {
    const eq = entry.indexOf("=");
    if (eq > 0) out[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return out;
}
