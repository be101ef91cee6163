/**
 * The command line and child environment of a create, per flavour and version
 * (reference/conda-family.md). Always non-interactive, JSON where the tool has it for `env create`, the
 * package cache and micromamba's root prefix under the worker's control. Argv arrays only, never a shell.
 */
import type { PackageManagerInfo } from "../../types.js";
import type { CacheLayout } from "../../cache/cache-layout.js";
import { faceOf } from "./faces.js";

export interface ToolCommand {
  file: string;
  args: string[];
  env: Record<string, string>;
}

export interface CreateTarget {
  prefix: string;
  /** environment.yml written by the worker in a private, writable temp dir (conda writes pip's requirements next to it). */
  envFile: string;
  /** The spec's channels, in priority order: the only ones the solve may use. */
  channels: readonly string[];
}

/** Returns the argv (without the executable) that creates `target.prefix` from `target.envFile`. */
export function buildCreateArgs(pm: PackageManagerInfo, target: CreateTarget, layout: CacheLayout): string[] {
  for (const value of [target.prefix, target.envFile]) {
    // Both are worker-built absolute paths; a leading "-" or a control character would be a bug upstream.
    if (!value.startsWith("/") || /[\0-\x1f]/.test(value)) throw new Error(`refusing command-line path ${JSON.stringify(value)}`);
  }
  for (const channel of target.channels) {
    // Channels come from a validated spec; one that looks like a flag would be a bug upstream.
    if (channel.startsWith("-") || /[\0-\x1f]/.test(channel)) throw new Error(`refusing command-line channel ${JSON.stringify(channel)}`);
  }
  const face = faceOf(pm);
  const args = [...face.createCommand, "-p", target.prefix, "-f", target.envFile];
  if (face.channelMode === "override-channels") {
    args.push("--override-channels", ...target.channels.filter((c) => c !== "nodefaults").flatMap((c) => ["-c", c]));
  }
  if (face.flavour === "libmamba") return [...args, "-y", "--json", "-r", layout.mambaRootDir];
  return face.json ? [...args, "--yes", "--json"] : [...args, "--yes"];
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

/**
 * The child environment of the package manager: the filtered worker env (HOME, the operator's .condarc,
 * .mambarc, pip.conf, PIP_ and proxy variables included) plus the few settings the worker owns.
 */
export function buildToolEnv(pm: PackageManagerInfo, baseEnv: NodeJS.ProcessEnv, layout: CacheLayout): Record<string, string> {
  return { ...filterToolEnv(baseEnv), ...faceOf(pm).ownedSettings(layout.pkgsDir, layout.mambaRootDir) };
}

/** The full create command. */
export function buildCreateCommand(pm: PackageManagerInfo, target: CreateTarget, layout: CacheLayout, baseEnv: NodeJS.ProcessEnv): ToolCommand {
  return { file: pm.path, args: buildCreateArgs(pm, target, layout), env: buildToolEnv(pm, baseEnv, layout) };
}

function checkCommandLinePath(value: string): void {
  if (!value.startsWith("/") || /[\0-\x1f]/.test(value)) throw new Error(`refusing command-line path ${JSON.stringify(value)}`);
}

/**
 * The dry-run solve a lock is made from: specs on the command line (each one argv item), only the spec's
 * channels, JSON out, nothing created. conda and mamba 1 get `--override-channels` (their create adds
 * configured channels otherwise) and `--no-default-packages` (a .condarc `create_default_packages` list).
 */
export function buildLockSolveCommand(pm: PackageManagerInfo, target: { prefix: string; channels: readonly string[]; specs: readonly string[] }, layout: CacheLayout, baseEnv: NodeJS.ProcessEnv): ToolCommand {
  checkCommandLinePath(target.prefix);
  for (const item of [...target.channels, ...target.specs]) {
    if (item.startsWith("-") || /[\0-\x1f]/.test(item)) throw new Error(`refusing command-line item ${JSON.stringify(item)}`);
  }
  const face = faceOf(pm);
  const channels = target.channels.filter((c) => c !== "nodefaults").flatMap((c) => ["-c", c]);
  const args = face.flavour === "libmamba"
    ? ["create", "-p", target.prefix, "--dry-run", "--json", "-y", "-r", layout.mambaRootDir, ...channels, ...target.specs]
    : ["create", "-p", target.prefix, "--dry-run", "--json", "--override-channels", ...channels, "--no-default-packages", ...target.specs];
  return { file: pm.path, args, env: buildToolEnv(pm, baseEnv, layout) };
}

/** The create from an `@EXPLICIT` list (face field `explicitCreateCommand`): no channels, no solve. */
export function buildExplicitCreateCommand(pm: PackageManagerInfo, target: { prefix: string; explicitFile: string }, layout: CacheLayout, baseEnv: NodeJS.ProcessEnv): ToolCommand {
  checkCommandLinePath(target.prefix);
  checkCommandLinePath(target.explicitFile);
  const face = faceOf(pm);
  const base = [...face.explicitCreateCommand, "-p", target.prefix, "--file", target.explicitFile];
  const args = face.flavour === "libmamba"
    ? [...base, "-y", "--json", "-r", layout.mambaRootDir]
    : [...base, "--no-default-packages", "--yes", ...(face.json ? ["--json"] : [])];
  return { file: pm.path, args, env: buildToolEnv(pm, baseEnv, layout) };
}
