/**
 * Where an installed app comes from (a directory with manifest.yaml, or an in-memory manifest + files),
 * and the manifest as upstream hands it to workers: defaults filled in, the user's extra keys kept,
 * `startup_context`, `source_hash`, and `_rtype: "pydantic-model"`.
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { parse as parseYaml } from "yaml";
import type { UserInfo } from "../hypha-server/tokens.js";

export interface InMemoryAppSource {
  manifest: Record<string, unknown>;
  /** Relative path → content. */
  files?: Record<string, string | Uint8Array>;
}

export type AppSource = string | InMemoryAppSource;

export interface LoadedApp {
  manifest: Record<string, unknown>;
  /** Relative POSIX path → bytes; includes manifest.yaml when loaded from a directory. */
  files: Map<string, Buffer>;
  /** The manifest text the source hash is computed over. */
  manifestText: string;
}

/** Reads an app from a directory (manifest.yaml + every file below it) or takes an in-memory one. */
export async function loadAppSource(source: AppSource): Promise<LoadedApp> {
  if (typeof source !== "string") {
    const files = new Map<string, Buffer>();
    for (const [path, content] of Object.entries(source.files ?? {})) files.set(checkRelative(path), Buffer.from(content));
    return { manifest: { ...source.manifest }, files, manifestText: JSON.stringify(source.manifest) };
  }
  const manifestText = await readFile(join(source, "manifest.yaml"), "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new Error(`App directory ${source} has no readable manifest.yaml (${error.code ?? error.message}); add one`);
  });
  const manifest = parseYaml(manifestText) as unknown;
  if (typeof manifest !== "object" || manifest === null || Array.isArray(manifest)) {
    throw new Error(`${join(source, "manifest.yaml")} is not a YAML mapping; write the manifest as key: value pairs`);
  }
  const files = new Map<string, Buffer>();
  for (const path of await listFilesRecursively(source)) files.set(relative(source, path).split(sep).join("/"), await readFile(path));
  return { manifest: manifest as Record<string, unknown>, files, manifestText };
}

async function listFilesRecursively(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFilesRecursively(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out.sort();
}

function checkRelative(path: string): string {
  const parts = path.split("/");
  if (path.startsWith("/") || parts.some((p) => p === ".." || p === "")) throw new Error(`Invalid app file path ${JSON.stringify(path)}: use a relative path without '..'`);
  return path;
}

const BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/** sha2-256 multihash in base58 (`Qm...`), as upstream's source_hash. */
export function sourceHash(text: string): string {
  const bytes = Buffer.concat([Buffer.from([0x12, 0x20]), createHash("sha256").update(text).digest()]);
  let value = BigInt(`0x${bytes.toString("hex")}`);
  let out = "";
  while (value > 0n) {
    out = BASE58[Number(value % 58n)] + out;
    value /= 58n;
  }
  return out;
}

/** The manifest a worker receives in `config.manifest`. */
export function manifestForWorker(manifest: Record<string, unknown>, facts: { appId: string; workspace: string; user: UserInfo; sourceHash: string }): Record<string, unknown> {
  const entryPoint = typeof manifest.entry_point === "string" ? manifest.entry_point : "main.py";
  return {
    format_version: "0.2.1",
    name: facts.appId,
    version: "0.1.0",
    passive: false,
    dependencies: [],
    requirements: [],
    api_version: "0.1.0",
    daemon: false,
    singleton: false,
    worker_managed: false,
    services: null,
    startup_config: null,
    ...manifest,
    id: facts.appId,
    entry_point: entryPoint,
    startup_context: { ws: facts.workspace, user: { id: facts.user.id } },
    source_hash: facts.sourceHash,
    service_ids: [],
    _rtype: "pydantic-model",
  };
}

/** Files as `compile(manifest, files, ...)` receives them: `{path, name, content, format}`. */
export function filesForCompile(files: Map<string, Buffer>): Array<{ path: string; name: string; content: string; format: "text" | "base64" }> {
  return [...files.entries()].map(([path, bytes]) => {
    const text = bytes.toString("utf8");
    const isText = Buffer.from(text, "utf8").equals(bytes);
    return { path, name: path, content: isText ? text : bytes.toString("base64"), format: isText ? "text" : "base64" };
  });
}

/** Applies compile's `[manifest, files]` answer; anything else leaves the app unchanged. */
export function applyCompileResult(result: unknown, current: { manifest: Record<string, unknown>; files: Map<string, Buffer> }): void {
  if (!Array.isArray(result) || result.length !== 2) return;
  const [manifest, files] = result as [unknown, unknown];
  if (typeof manifest === "object" && manifest !== null) {
    const { _rtype: _ignored, ...rest } = manifest as Record<string, unknown>;
    current.manifest = rest;
  }
  if (!Array.isArray(files)) return;
  current.files = new Map();
  for (const file of files as Array<{ path?: string; name?: string; content?: string; format?: string }>) {
    const path = file.path ?? file.name;
    if (typeof path !== "string" || typeof file.content !== "string") continue;
    current.files.set(checkRelative(path), Buffer.from(file.content, file.format === "base64" ? "base64" : "utf8"));
  }
}
