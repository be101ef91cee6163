/**
 * Builds the canonical EnvSpec (the cache key's content) from manifest fields or an environment.yml:
 * channels validated, allow-listed and mapped in priority order; conda specs and pip requirements
 * validated, normalised, de-duplicated and sorted; variables validated; the platform subdir recorded.
 */
import { ManifestError } from "../../errors.js";
import { resolveChannelList } from "./channels.js";
import { parseEnvironmentFile } from "../build/environment-file.js";
import { normalizeCondaSpec } from "./match-spec.js";
import { normalizePipRequirement } from "./pip-requirement.js";
import { isPlainObject, quoteItem } from "./spec-text.js";
import type { EnvOptions, EnvSpec } from "../types.js";
import { normalizeVariables } from "./variables.js";

/** Version of the EnvSpec layout; bump it when the canonical form changes so old caches are not reused. */
export const ENV_SPEC_SCHEMA = 1;
export const MAX_CONDA_SPECS = 512;
export const MAX_PIP_SPECS = 512;

export type SpecOptions = Pick<EnvOptions, "channelMap" | "allowedChannels" | "defaultChannels" | "allowPipOptions" | "lockMismatch"> & { subdir?: string };

/** The conda platform subdir of this machine: linux-64, linux-aarch64, linux-ppc64le, osx-64, osx-arm64, win-64. */
export function currentSubdir(platform: NodeJS.Platform = process.platform, arch: string = process.arch): string {
  const os = platform === "darwin" ? "osx" : platform === "win32" ? "win" : "linux";
  if (arch === "arm64") return os === "linux" ? "linux-aarch64" : `${os}-arm64`;
  if (arch === "ppc64") return `${os}-ppc64le`;
  if (arch === "ia32") return `${os}-32`;
  return `${os}-64`;
}

/** Splits `dependencies` (string or list) into raw conda items and the single pip list. */
function splitDependencies(value: unknown): { conda: unknown[]; pip: unknown[] } {
  if (value === undefined || value === null) return { conda: [], pip: [] };
  const items = typeof value === "string" ? [value] : value;
  if (!Array.isArray(items)) {
    throw new ManifestError(`dependencies must be a match spec or a list of them, not ${quoteItem(value)}; write e.g. dependencies: [python=3.11, numpy]`);
  }
  const conda: unknown[] = [];
  let pip: unknown[] | undefined;
  for (const item of items) {
    if (!isPlainObject(item)) {
      conda.push(item);
      continue;
    }
    const keys = Object.keys(item);
    if (keys.length !== 1 || keys[0] !== "pip") {
      throw new ManifestError(`dependency ${quoteItem(item)} is not a match spec; the only mapping allowed in dependencies is {pip: [...]}`);
    }
    if (pip !== undefined) throw new ManifestError(`dependencies contain more than one pip item (${quoteItem(item)}); merge them into one {pip: [...]}`);
    const list = item.pip;
    if (typeof list === "string") pip = [list];
    else if (Array.isArray(list)) pip = list;
    else throw new ManifestError(`dependency ${quoteItem(item)}: pip must be a list of requirements, e.g. {pip: ["requests>=2.31"]}`);
  }
  return { conda, pip: pip ?? [] };
}

/** Normalises, de-duplicates and sorts a list with `normalize`. */
function normalizeAll(items: unknown[], normalize: (item: unknown) => string): string[] {
  return [...new Set(items.map(normalize))].sort();
}

/** Builds the canonical spec; throws ManifestError (or E_CHANNEL_NOT_ALLOWED) naming the bad item. */
export function buildEnvSpec(input: { dependencies?: unknown; channels?: unknown; variables?: unknown }, options: SpecOptions): EnvSpec {
  const policy = { channelMap: options.channelMap ?? {}, ...(options.allowedChannels ? { allowedChannels: options.allowedChannels } : {}) };
  const { conda, pip } = splitDependencies(input.dependencies);
  if (conda.length > MAX_CONDA_SPECS) throw new ManifestError(`dependencies list ${conda.length} conda specs (more than ${MAX_CONDA_SPECS}); split the app or trim the list`);
  if (pip.length > MAX_PIP_SPECS) throw new ManifestError(`the pip section lists ${pip.length} requirements (more than ${MAX_PIP_SPECS}); trim the list`);
  const channels = resolveChannelList(input.channels, options.defaultChannels ?? ["conda-forge"], policy);
  return {
    schema: ENV_SPEC_SCHEMA,
    channels,
    conda: normalizeAll(conda, (item) => normalizeCondaSpec(item, policy)),
    pip: normalizeAll(pip, (item) => normalizePipRequirement(item, options.allowPipOptions ?? false)),
    variables: normalizeVariables(input.variables),
    subdir: options.subdir ?? currentSubdir(),
  };
}

/** Parses an environment.yml/.yaml text (size-limited, safe YAML) and builds its spec; `name` is ignored. */
export function specFromEnvironmentFile(text: string, options: SpecOptions): EnvSpec {
  return buildEnvSpec(parseEnvironmentFile(text), options);
}
