/** Install-time `compile(manifest, files, config)`: input checks, then the env layer's compileApp. */
import { ConfigError } from "../errors.js";
import type { SessionDeps } from "../session/types.js";
import { compileApp, compileAppWithLock } from "../env/compile.js";
import type { EnvLock } from "../env/lock/lock-file.js";
import type { EnvSpec } from "../env/types.js";
import { stripRtype } from "./start-config.js";

/** One app file as the app manager sends it (upstream uses `name` or `path`). */
export type CompileFile = Record<string, unknown>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Validates the arguments and returns `[manifest, files]` as compileApp produced them. */
export async function compileForWorker(
  manifest: unknown,
  files: unknown,
  config: unknown,
  specOptions: SessionDeps["specOptions"],
  /** Solves a spec into a lock (the env manager's lockSpec); absent: validate only, no lock file. */
  lockSpec?: (spec: EnvSpec) => Promise<EnvLock>,
): Promise<[Record<string, unknown>, CompileFile[]]> {
  if (!isRecord(manifest)) throw new ConfigError("compile: 'manifest' must be an object (the app's manifest).");
  const list = files === undefined || files === null ? [] : files;
  if (!Array.isArray(list) || !list.every(isRecord)) {
    throw new ConfigError("compile: 'files' must be a list of {path or name, content, format} objects.");
  }
  if (config !== undefined && config !== null && !isRecord(config)) throw new ConfigError("compile: 'config' must be an object when given.");
  const [outManifest, outFiles] = lockSpec
    ? await compileAppWithLock(stripRtype(manifest), list as CompileFile[], specOptions, lockSpec)
    : compileApp(stripRtype(manifest), list as CompileFile[], specOptions);
  return [outManifest as Record<string, unknown>, outFiles as CompileFile[]];
}
