/**
 * The command line and child environment of a create, per flavour and version
 * (reference/conda-family.md). Always non-interactive, JSON where the tool has it for `env create`, the
 * package cache and micromamba's root prefix under the worker's control. Argv arrays only, never a shell.
 */
import type { PackageManagerInfo } from "../../types.js";
import type { CacheLayout } from "../../cache/cache-layout.js";
import { flavourOf } from "./flavour.js";

export interface ToolCommand {
  file: string;
  args: string[];
  env: Record<string, string>;
}

export interface CreateTarget {
  prefix: string;
  /** environment.yml written by the worker in a private, writable temp dir (conda writes pip's requirements next to it). */
  envFile: string;
}

/** Returns the argv (without the executable) that creates `target.prefix` from `target.envFile`. */
export function buildCreateArgs(pm: PackageManagerInfo, target: CreateTarget, layout: CacheLayout): string[] {
  for (const value of [target.prefix, target.envFile]) {
    // Both are worker-built absolute paths; a leading "-" or a control character would be a bug upstream.
    if (!value.startsWith("/") || /[\0-\x1f]/.test(value)) throw new Error(`refusing command-line path ${JSON.stringify(value)}`);
  }
  switch (flavourOf(pm)) {
    case "conda":
      return ["env", "create", "-p", target.prefix, "-f", target.envFile, "--yes", "--json"];
    case "mamba1":
      // mamba 1.x's `env create` is conda's; the reference drives it without --json and reads its text.
      return ["env", "create", "-p", target.prefix, "-f", target.envFile, "--yes"];
    case "libmamba":
      return ["create", "-p", target.prefix, "-f", target.envFile, "-y", "--json", "-r", layout.mambaRootDir];
  }
}

/** Variables passed through even though their names look secret: the tool or pip needs them to work. */
const PASSTHROUGH = [/^PIP_/, /^CONDA_/, /^MAMBA_/, /^(HTTP|HTTPS|FTP|ALL|NO)_PROXY$/i, /^SSL_CERT_(FILE|DIR)$/, /^REQUESTS_CA_BUNDLE$/, /^CURL_CA_BUNDLE$/];
/** Names that smell of credentials; dropped unless passed through above. */
const SECRET_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|KEY|CREDENTIAL|AUTH|COOKIE|SESSION|PRIVATE/i;
/** Never reach the tool: the worker's own configuration, and Python settings that would break conda itself. */
const ALWAYS_DROP = [/^HYPHA_/i, /^PYTHONPATH$/, /^PYTHONHOME$/, /^PYTHONSTARTUP$/, /^NODE_OPTIONS$/];

/** Returns the worker's environment without secrets (the rule documented in docs/env-cache.md). */
export function filterToolEnv(baseEnv: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(baseEnv)) {
    if (value === undefined) continue;
    if (ALWAYS_DROP.some((re) => re.test(name))) continue;
    if (SECRET_NAME.test(name) && !PASSTHROUGH.some((re) => re.test(name))) continue;
    out[name] = value;
  }
  return out;
}

/** The child environment of the package manager: filtered worker env plus the cache settings. */
export function buildToolEnv(pm: PackageManagerInfo, baseEnv: NodeJS.ProcessEnv, layout: CacheLayout): Record<string, string> {
  const env = filterToolEnv(baseEnv);
  // CONDA_PKGS_DIRS is the variable all three read (libmamba's pkgs_dirs reads no MAMBA_PKGS_DIRS); the
  // MAMBA_ one is overwritten too so an operator's value never reaches the tool and misleads a reader.
  env.CONDA_PKGS_DIRS = layout.pkgsDir;
  env.MAMBA_PKGS_DIRS = layout.pkgsDir;
  const flavour = flavourOf(pm);
  if (flavour === "libmamba") env.MAMBA_ROOT_PREFIX = layout.mambaRootDir;
  // conda (and mamba 1, which is conda) append to ~/.conda/environments.txt on every create.
  else env.HOME = layout.homeDir;
  return env;
}

/** The full create command. */
export function buildCreateCommand(pm: PackageManagerInfo, target: CreateTarget, layout: CacheLayout, baseEnv: NodeJS.ProcessEnv): ToolCommand {
  return { file: pm.path, args: buildCreateArgs(pm, target, layout), env: buildToolEnv(pm, baseEnv, layout) };
}
