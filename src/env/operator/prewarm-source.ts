/**
 * Turns one prewarm source (an app directory, a manifest file, or an environment.yml) into an EnvSpec,
 * using the manifest and spec modules; this file only locates and reads the files.
 */
import { readFile, stat } from "node:fs/promises";
import { basename, dirname, join, resolve, sep } from "node:path";
import { loadYaml } from "../../yaml-lazy.js";
import { ManifestError } from "../../errors.js";
import { normalizeManifest, resolveEnvSpec } from "../spec/manifest.js";
import { specFromEnvironmentFile, type SpecOptions } from "../spec/spec.js";
import type { EnvSpec } from "../types.js";

const MANIFEST_NAMES = ["manifest.yaml", "manifest.yml", "manifest.json"];
const MAX_SOURCE_BYTES = 1024 * 1024;

/** Reads a text file, refusing anything larger than the limit; undefined when the file is absent. */
async function readSmallText(path: string): Promise<string | undefined> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  if (!info.isFile()) return undefined;
  if (info.size > MAX_SOURCE_BYTES) {
    throw new ManifestError(`${path} is ${info.size} bytes, more than the ${MAX_SOURCE_BYTES} allowed for a manifest or environment file; point prewarm at the real manifest or environment.yml.`);
  }
  return readFile(path, "utf8");
}

/** Returns a reader for files next to the manifest, confined to the app directory. */
function appFileReader(appDir: string): (relPath: string) => Promise<string | undefined> {
  const root = resolve(appDir);
  return async (relPath) => {
    const target = resolve(root, relPath);
    if (target !== root && !target.startsWith(root + sep)) {
      throw new ManifestError(`app file ${JSON.stringify(relPath)} is outside the app directory ${root}; use a path relative to it.`);
    }
    return readSmallText(target);
  };
}

function parseStructured(text: string, path: string): unknown {
  try {
    return loadYaml().parse(text, { schema: "core", uniqueKeys: true });
  } catch (error) {
    throw new ManifestError(`${path} is not valid YAML or JSON (${(error as Error).message}); fix its syntax.`, { cause: error });
  }
}

/** True when a file should be read as a manifest rather than an environment file. */
function looksLikeManifest(path: string, parsed: unknown): boolean {
  if (MANIFEST_NAMES.includes(basename(path).toLowerCase())) return true;
  return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) && "type" in parsed;
}

/** Resolves a prewarm source to its EnvSpec; throws ManifestError naming the source on bad input. */
export async function specFromSource(source: string, options: SpecOptions): Promise<EnvSpec> {
  const path = resolve(source);
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw new ManifestError(`prewarm source ${JSON.stringify(source)} does not exist; give an app directory, a manifest file or an environment.yml.`, { cause: error });
  }
  if (info.isDirectory()) {
    for (const name of MANIFEST_NAMES) {
      const text = await readSmallText(join(path, name));
      if (text !== undefined) return specFromManifestText(text, join(path, name), path, options);
    }
    throw new ManifestError(`app directory ${path} has no ${MANIFEST_NAMES.join(", ")}; add a manifest or point prewarm at an environment.yml.`);
  }
  const text = await readSmallText(path);
  if (text === undefined) {
    throw new ManifestError(`prewarm source ${JSON.stringify(source)} is not a regular file or directory; give an app directory, a manifest file or an environment.yml.`);
  }
  const parsed = parseStructured(text, path);
  if (looksLikeManifest(path, parsed)) return specFromManifestText(text, path, dirname(path), options, parsed);
  return specFromEnvironmentFile(text, options);
}

async function specFromManifestText(text: string, path: string, appDir: string, options: SpecOptions, parsed?: unknown): Promise<EnvSpec> {
  const raw = parsed ?? parseStructured(text, path);
  const manifest = normalizeManifest(raw);
  return resolveEnvSpec(manifest, appFileReader(appDir), options);
}
