/**
 * The app manifest (conda-python, or upstream's conda-jupyter-kernel): type, entry point, files to stage,
 * and where the env comes from.
 * Hypha sends the manifest with every default filled in (including `dependencies: []`) and an extra
 * `_rtype` key; both are handled here so the rest of the worker sees one clean shape.
 */
import path from "node:path";
import { ManifestError } from "../../errors.js";
import { ENVIRONMENT_FILE_NAMES, parseEnvironmentFile } from "../build/environment-file.js";
import { buildEnvSpec, type SpecOptions } from "./spec.js";
import { describeType, findControlChar, isPlainObject, quoteItem } from "./spec-text.js";
import type { EnvSpec } from "../types.js";
import { LOCK_FILE_NAME, parseLock } from "../lock/lock-file.js";
import { applyLock } from "../lock/apply-lock.js";

/** Upstream's type: the entry point runs as one notebook cell in a process kept alive like a kernel. */
export const KERNEL_APP_TYPE = "conda-jupyter-kernel";
export type AppType = "conda-python" | typeof KERNEL_APP_TYPE;
/** Every accepted `type` and the canonical type it runs as ("python-conda" is an alias). */
const APP_TYPES: Readonly<Record<string, AppType>> = { "conda-python": "conda-python", "python-conda": "conda-python", [KERNEL_APP_TYPE]: KERNEL_APP_TYPE };
export const MANIFEST_TYPES: readonly string[] = Object.keys(APP_TYPES);
export const DEFAULT_ENTRY_POINT = "main.py";
const MAX_FILES_TO_STAGE = 1000;

export interface NormalizedManifest {
  type: AppType;
  entryPoint: string;
  filesToStage: string[];
  /** "environment-file" when `dependencies` is absent, null or an empty list (Hypha fills in `[]`). */
  envSource: "manifest" | "environment-file";
  /** The user's manifest with `_rtype` stripped at every level. */
  manifest: Record<string, unknown>;
}

/** Returns a deep copy of a JSON-like value without any `_rtype` keys. */
export function stripRtype(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripRtype);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) if (key !== "_rtype") out[key] = stripRtype(inner);
    return out;
  }
  return value;
}

/**
 * Validates a relative path inside the app (no absolute path, no "..", no backslash, no control chars)
 * and returns it in normal form ("./a//b" → "a/b"; a trailing "/" is kept).
 */
export function normalizeRelativePath(value: unknown, what: string): string {
  if (typeof value !== "string") throw new ManifestError(`${what} ${quoteItem(value)} is not a string (got ${describeType(value)}); write a relative path such as "main.py"`);
  if (value.trim() === "") throw new ManifestError(`${what} ${quoteItem(value)} is empty; write a relative path such as "main.py"`);
  if (value.length > 500) throw new ManifestError(`${what} ${quoteItem(value)} is longer than 500 characters; shorten it`);
  const control = findControlChar(value);
  if (control) throw new ManifestError(`${what} ${quoteItem(value)} contains ${control}; remove it`);
  if (value.includes("\\")) throw new ManifestError(`${what} ${quoteItem(value)} contains a backslash; use "/" as the separator`);
  if (value.startsWith("/") || /^[A-Za-z]:/.test(value) || value.startsWith("~")) {
    throw new ManifestError(`${what} ${quoteItem(value)} is absolute; write a path relative to the app's files`);
  }
  if (value.split("/").includes("..")) throw new ManifestError(`${what} ${quoteItem(value)} contains ".."; paths must stay inside the app's files`);
  if (value.startsWith("-")) throw new ManifestError(`${what} ${quoteItem(value)} starts with "-", which a command line would read as an option; rename it`);
  const isDir = value.endsWith("/");
  const normal = path.posix.normalize(value);
  if (normal === "." || normal === "..") throw new ManifestError(`${what} ${quoteItem(value)} names the app root itself; name a file or folder inside it`);
  return isDir && !normal.endsWith("/") ? `${normal}/` : normal;
}

/** Validates one files_to_stage entry: "f", "dir/", "src:dst", "dir/:dst/". */
function normalizeStageEntry(value: unknown): string {
  if (typeof value !== "string") throw new ManifestError(`files_to_stage item ${quoteItem(value)} is not a string; write "file", "dir/", "src:dst" or "dir/:dst/"`);
  const parts = value.split(":");
  if (parts.length > 2) throw new ManifestError(`files_to_stage item ${quoteItem(value)} has more than one ":"; write "src:dst"`);
  const src = normalizeRelativePath(parts[0], "files_to_stage source");
  if (parts.length === 1) return src;
  const dst = normalizeRelativePath(parts[1], "files_to_stage destination");
  if (src.endsWith("/") && !dst.endsWith("/")) {
    throw new ManifestError(`files_to_stage item ${quoteItem(value)} copies a folder onto a file name; end the destination with "/"`);
  }
  return `${src}:${dst}`;
}

/** True when the manifest declares no dependencies of its own (absent, null, "" or []). */
function hasNoDependencies(deps: unknown): boolean {
  return deps === undefined || deps === null || (Array.isArray(deps) && deps.length === 0);
}

/** Validates the manifest shape and returns its normalised view; throws ManifestError. */
export function normalizeManifest(raw: unknown): NormalizedManifest {
  if (!isPlainObject(raw)) throw new ManifestError(`the manifest must be a mapping, not ${quoteItem(raw)}; write type, entry_point and dependencies as keys`);
  const manifest = stripRtype(raw) as Record<string, unknown>;
  // hasOwn: "constructor" or "__proto__" is no type.
  const type = typeof manifest.type === "string" && Object.hasOwn(APP_TYPES, manifest.type) ? APP_TYPES[manifest.type] : undefined;
  if (type === undefined) {
    throw new ManifestError(`manifest type ${quoteItem(manifest.type)} is not handled by this worker; set type: ${MANIFEST_TYPES.join(" or ")}`);
  }
  const entryPoint = manifest.entry_point === undefined || manifest.entry_point === null
    ? DEFAULT_ENTRY_POINT
    : normalizeRelativePath(manifest.entry_point, "entry_point");
  if (entryPoint.endsWith("/")) throw new ManifestError(`entry_point ${quoteItem(manifest.entry_point)} names a folder; name the Python file to run`);
  const stage = manifest.files_to_stage;
  let filesToStage: string[] = [];
  if (stage !== undefined && stage !== null) {
    const list = typeof stage === "string" ? [stage] : stage;
    if (!Array.isArray(list)) throw new ManifestError(`files_to_stage must be a list of paths, not ${quoteItem(stage)}`);
    if (list.length > MAX_FILES_TO_STAGE) throw new ManifestError(`files_to_stage lists ${list.length} entries (more than ${MAX_FILES_TO_STAGE}); stage folders instead`);
    filesToStage = list.map(normalizeStageEntry);
  }
  const envSource = hasNoDependencies(manifest.dependencies) ? "environment-file" : "manifest";
  return { type, entryPoint, filesToStage, envSource, manifest };
}

/** The error for an app that names no packages anywhere. */
export function noDependenciesError(): ManifestError {
  return new ManifestError(
    `the app declares no dependencies and has no ${ENVIRONMENT_FILE_NAMES.join(" or ")}; add e.g. dependencies: ["python=3.11"] to the manifest or ship an environment.yml`,
  );
}

/**
 * Resolves the EnvSpec: from the manifest, or from environment.yml then environment.yaml; with the app's
 * lock file (hypha-conda.lock.json) checked against it and attached, so the env is built from the lock.
 */
export async function resolveEnvSpec(
  m: NormalizedManifest,
  readAppFile: (relPath: string) => Promise<string | undefined>,
  options: SpecOptions,
): Promise<EnvSpec> {
  const spec = await resolveUnlockedSpec(m, readAppFile, options);
  const lockText = await readAppFile(LOCK_FILE_NAME);
  if (lockText === undefined) return spec;
  let lock;
  try {
    lock = parseLock(lockText);
  } catch (error) {
    if (options.lockMismatch !== "spec") throw error;
    return { ...spec, lockNote: `${(error as Error).message.split(".")[0]}; building from the spec (--lock-mismatch spec)` };
  }
  return applyLock(spec, lock, options.lockMismatch);
}

async function resolveUnlockedSpec(
  m: NormalizedManifest,
  readAppFile: (relPath: string) => Promise<string | undefined>,
  options: SpecOptions,
): Promise<EnvSpec> {
  const { manifest } = m;
  if (m.envSource === "environment-file") {
    for (const name of ENVIRONMENT_FILE_NAMES) {
      const text = await readAppFile(name);
      if (text === undefined) continue;
      const file = parseEnvironmentFile(text, name);
      // The file's channels win; a file without channels takes the manifest's, then the defaults.
      return buildEnvSpec({ ...file, channels: file.channels ?? manifest.channels }, options);
    }
    throw noDependenciesError();
  }
  return buildEnvSpec({ dependencies: manifest.dependencies, channels: manifest.channels, variables: manifest.variables }, options);
}
