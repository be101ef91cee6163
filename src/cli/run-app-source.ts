/**
 * `run`'s local app source: an app directory (holding manifest.yaml, manifest.yml or manifest.json) or a
 * manifest file whose directory holds the app's files. Reads and parses the manifest; the session
 * validates it (normalizeManifest) exactly as it does for an app started through Hypha.
 */
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { ManifestError, UsageError } from "../errors.js";
import { isPlainObject } from "../env/spec/spec-text.js";
import { parseManifestText } from "./manifest-memo.js";

export const MANIFEST_FILE_NAMES = ["manifest.yaml", "manifest.yml", "manifest.json"] as const;
const MAX_MANIFEST_BYTES = 1024 * 1024;
const APP_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export interface LocalApp {
  /** Absolute directory whose files are the app's files (entry point, files_to_stage, environment.yml). */
  appDir: string;
  manifestPath: string;
  /** The parsed manifest, as the user wrote it. */
  manifest: Record<string, unknown>;
  /** The manifest's `id`, else the directory name; letters, digits, `.`, `_`, `-`. */
  appId: string;
}

async function statOrUndefined(file: string) {
  try {
    return await stat(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT" || (error as NodeJS.ErrnoException).code === "ENOTDIR") return undefined;
    throw error;
  }
}

async function findManifest(appDir: string): Promise<string> {
  for (const name of MANIFEST_FILE_NAMES) {
    const candidate = path.join(appDir, name);
    if ((await statOrUndefined(candidate))?.isFile()) return candidate;
  }
  throw new ManifestError(`The app directory ${appDir} has no ${MANIFEST_FILE_NAMES.join(", ")}; add a manifest (see fixtures/apps/hello/manifest.yaml) or pass the manifest file itself.`);
}

/** Picks the app id: the manifest's `id` when it is a plain name, else the app directory's name. */
function chooseAppId(manifest: Record<string, unknown>, appDir: string, manifestPath: string): string {
  const id = manifest.id;
  if (id !== undefined) {
    if (typeof id !== "string" || !APP_ID_PATTERN.test(id)) {
      throw new ManifestError(`The manifest ${manifestPath} has id ${JSON.stringify(id)}; an app id must start with a letter or digit and hold only letters, digits, '.', '_' and '-' (at most 64).`);
    }
    return id;
  }
  const fromDir = path.basename(appDir).replace(/[^A-Za-z0-9_.-]/g, "-").replace(/^[^A-Za-z0-9]+/, "").slice(0, 64);
  return fromDir.length > 0 ? fromDir : "app";
}

/** Loads `source` (an app directory or a manifest file); throws a clear error when it is neither. */
export async function loadLocalApp(source: string, options: { memoDir?: string } = {}): Promise<LocalApp> {
  if (source.trim() === "" || source.includes("\0")) throw new UsageError("run: the app directory or manifest path is empty or contains a NUL byte.");
  const resolved = path.resolve(source);
  const info = await statOrUndefined(resolved);
  if (!info) {
    throw new UsageError(`run: ${JSON.stringify(source)} does not exist; give an app directory (e.g. fixtures/apps/hello) or its manifest.yaml.`);
  }
  let appDir: string;
  let manifestPath: string;
  if (info.isDirectory()) {
    appDir = resolved;
    manifestPath = await findManifest(appDir);
  } else if (info.isFile()) {
    manifestPath = resolved;
    appDir = path.dirname(resolved);
  } else {
    throw new UsageError(`run: ${JSON.stringify(source)} is neither a directory nor a regular file; give an app directory or its manifest.yaml.`);
  }
  const size = (await stat(manifestPath)).size;
  if (size > MAX_MANIFEST_BYTES) {
    throw new ManifestError(`The manifest ${manifestPath} is ${size} bytes, more than the ${MAX_MANIFEST_BYTES} allowed; is this really the app's manifest?`);
  }
  let parsed: unknown;
  try {
    parsed = await parseManifestText(await readFile(manifestPath, "utf8"), options.memoDir);
  } catch (error) {
    throw new ManifestError(`The manifest ${manifestPath} is not valid YAML or JSON (${(error as Error).message}); fix its syntax.`, { cause: error });
  }
  if (!isPlainObject(parsed)) {
    throw new ManifestError(`The manifest ${manifestPath} must be a mapping with at least "type: conda-python"; it holds ${parsed === null ? "nothing" : typeof parsed}.`);
  }
  return { appDir, manifestPath, manifest: parsed, appId: chooseAppId(parsed, appDir, manifestPath) };
}
