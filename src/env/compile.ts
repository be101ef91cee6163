/**
 * The worker API's `compile(manifest, files, config)`: runs at install time so a bad manifest or
 * environment.yml fails the install, not the first start. It strips `_rtype`; the manifest is otherwise
 * unchanged (the spec is recomputed at start: the operator's channel map may change). With locking on it
 * adds one app file, the lock (src/env/lock/), which start checks against the spec it recomputes.
 */
import { ManifestError } from "../errors.js";
import { ENVIRONMENT_FILE_NAMES, parseEnvironmentFile } from "./build/environment-file.js";
import { normalizeManifest, stripRtype } from "./spec/manifest.js";
import { buildEnvSpec, type SpecOptions } from "./spec/spec.js";
import { isPlainObject, quoteItem } from "./spec/spec-text.js";
import type { EnvSpec } from "./types.js";
import { formatLock, LOCK_FILE_NAME, parseLock, type EnvLock } from "./lock/lock-file.js";
import { lockMismatch } from "./lock/apply-lock.js";

/** Returns the file's path as given by `path` or `name`, without a leading "./". */
function filePath(file: Record<string, unknown>): string | undefined {
  const p = typeof file.path === "string" ? file.path : typeof file.name === "string" ? file.name : undefined;
  return p?.replace(/^\.\//, "");
}

/**
 * Decodes a compile() file's content the way the app manager stores it (hypha/apps.py): text by default,
 * `format: "base64"` as plain base64 or a `data:<type>;base64,<data>` URL, `format: "json"` as a JSON
 * string or an object/list (serialised; JSON is valid YAML).
 */
export function decodeFileContent(file: Record<string, unknown>, name: string): string {
  const content = file.content;
  if (file.format === "json" && content !== null && typeof content === "object") return JSON.stringify(content);
  if (typeof content !== "string") throw new ManifestError(`file ${quoteItem(name)} has no text content; send it as text or as base64 with format: "base64"`);
  if (file.format === "base64") {
    let data = content;
    if (data.startsWith("data:")) {
      const marker = data.indexOf(";base64,");
      if (marker < 0) throw new ManifestError(`file ${quoteItem(name)} is a data URL without ";base64,"; send data:<type>;base64,<data> or plain base64`);
      data = data.slice(marker + ";base64,".length);
    }
    if (!/^[A-Za-z0-9+/=\s_-]*$/.test(data)) throw new ManifestError(`file ${quoteItem(name)} is marked base64 but is not valid base64; re-encode it`);
    return Buffer.from(data, "base64").toString("utf8");
  }
  return content;
}

/** Validates and normalises an app at install time; returns `[manifest, files]` with `_rtype` stripped. */
export function compileApp(manifest: unknown, files: unknown, options: SpecOptions): [Record<string, unknown>, unknown[]] {
  const compiled = compileSpec(manifest, files, options);
  return [compiled.manifest, compiled.files];
}

/**
 * compileApp plus the lock: the app's spec solved by `lockSpec` (the worker's package manager, no env
 * created) and written as the app file hypha-conda.lock.json, which the app manager keeps with the app.
 * A lock the author shipped that still fits this worker's spec is kept as it is.
 */
export async function compileAppWithLock(manifest: unknown, files: unknown, options: SpecOptions, lockSpec: (spec: EnvSpec) => Promise<EnvLock>): Promise<[Record<string, unknown>, unknown[]]> {
  const compiled = compileSpec(manifest, files, options);
  if (!compiled.spec) return [compiled.manifest, compiled.files];
  const shipped = compiled.files.find((f): f is Record<string, unknown> => isPlainObject(f) && filePath(f) === LOCK_FILE_NAME);
  if (shipped && shippedLockFits(shipped, compiled.spec)) return [compiled.manifest, compiled.files];
  const lock = await lockSpec(compiled.spec);
  const others = compiled.files.filter((f) => f !== shipped);
  return [compiled.manifest, [...others, { path: LOCK_FILE_NAME, name: LOCK_FILE_NAME, content: formatLock(lock), format: "text" }]];
}

function shippedLockFits(file: Record<string, unknown>, spec: EnvSpec): boolean {
  try {
    return lockMismatch(spec, parseLock(decodeFileContent(file, LOCK_FILE_NAME))) === undefined;
  } catch {
    return false;
  }
}

function compileSpec(manifest: unknown, files: unknown, options: SpecOptions): { manifest: Record<string, unknown>; files: unknown[]; spec?: EnvSpec } {
  const normalized = normalizeManifest(manifest);
  let fileList: unknown[] = [];
  if (files !== undefined && files !== null) {
    if (!Array.isArray(files)) throw new ManifestError(`files must be a list of {path, content, format} objects, not ${quoteItem(files)}`);
    fileList = stripRtype(files) as unknown[];
  }
  const m = normalized.manifest;
  if (normalized.envSource === "manifest") {
    return { manifest: m, files: fileList, spec: buildEnvSpec({ dependencies: m.dependencies, channels: m.channels, variables: m.variables }, options) };
  }
  const envFile = ENVIRONMENT_FILE_NAMES.map((name) =>
    fileList.find((f): f is Record<string, unknown> => isPlainObject(f) && filePath(f) === name),
  ).find((f) => f !== undefined);
  // Without the file here it may still be uploaded after install; start() then reports it missing.
  if (!envFile) return { manifest: m, files: fileList };
  const name = filePath(envFile)!;
  const content = parseEnvironmentFile(decodeFileContent(envFile, name), name);
  return { manifest: m, files: fileList, spec: buildEnvSpec({ ...content, channels: content.channels ?? m.channels }, options) };
}
