/**
 * The marker `<prefix>/conda-meta/hypha-conda-worker.json`: written atomically, last, only after the env was
 * created and its python answered. A prefix without a valid marker is never used. lastUsedAt is the mtime of
 * a sibling file that a hit touches (one utimes call, no rewrite of the marker).
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import type { EnvSpec, PackageManagerInfo } from "../types.js";
import { isSpecHash } from "./cache-layout.js";

export const MARKER_FILE = "hypha-conda-worker.json";
export const LAST_USED_FILE = "hypha-conda-worker.last-used";
export const MARKER_FORMAT = 1;

export interface EnvMarker {
  format: number;
  hash: string;
  spec: EnvSpec;
  prefix: string;
  createdAt: string;
  packageManager: PackageManagerInfo;
  /** Variables that activating the env sets; computed once at create. */
  activation: Record<string, string>;
  /** Bytes under the prefix right after create (stat walk). */
  sizeBytes: number;
}

export function markerPath(prefix: string): string {
  return path.join(prefix, "conda-meta", MARKER_FILE);
}

export function lastUsedPath(prefix: string): string {
  return path.join(prefix, "conda-meta", LAST_USED_FILE);
}

/** Returns the prefix's marker when present and well-formed, else undefined (never throws for a bad file). */
export async function readMarker(prefix: string): Promise<EnvMarker | undefined> {
  let text: string;
  try {
    text = await fs.readFile(markerPath(prefix), "utf8");
  } catch {
    return undefined;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    return isValidMarker(parsed, prefix) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === "string");
}

function isValidMarker(value: unknown, prefix: string): value is EnvMarker {
  if (typeof value !== "object" || value === null) return false;
  const m = value as Partial<EnvMarker>;
  const spec = m.spec as Partial<EnvSpec> | undefined;
  const pm = m.packageManager as Partial<PackageManagerInfo> | undefined;
  return (
    m.format === MARKER_FORMAT &&
    typeof m.hash === "string" &&
    isSpecHash(m.hash) &&
    // An env is not relocatable: a marker written for another path means a copied or moved prefix.
    m.prefix === prefix &&
    typeof m.createdAt === "string" &&
    typeof m.sizeBytes === "number" &&
    isStringRecord(m.activation) &&
    typeof spec === "object" &&
    spec !== null &&
    Array.isArray(spec.channels) &&
    Array.isArray(spec.conda) &&
    Array.isArray(spec.pip) &&
    typeof pm === "object" &&
    pm !== null &&
    typeof pm.name === "string" &&
    typeof pm.version === "string" &&
    typeof pm.path === "string"
  );
}

/** Writes the marker atomically (tmp file in the same directory, then rename). */
export async function writeMarker(marker: EnvMarker): Promise<void> {
  const target = markerPath(marker.prefix);
  const tmp = `${target}.${process.pid}.${Date.now()}.tmp`;
  await fs.writeFile(tmp, `${JSON.stringify(marker, null, 2)}\n`, { mode: 0o644 });
  await fs.rename(tmp, target);
}

/** Records "used now" cheaply; failures (read-only cache) are ignored. */
export async function touchLastUsed(prefix: string, now = new Date()): Promise<void> {
  const file = lastUsedPath(prefix);
  try {
    await fs.utimes(file, now, now);
  } catch {
    try {
      await fs.writeFile(file, "");
      await fs.utimes(file, now, now);
    } catch {
      // Best effort: a hit must not fail because the cache is read-only.
    }
  }
}

/** Returns lastUsedAt (mtime of the last-used file), falling back to the marker's createdAt. */
export async function readLastUsed(prefix: string, marker: EnvMarker): Promise<Date> {
  try {
    return (await fs.stat(lastUsedPath(prefix))).mtime;
  } catch {
    return new Date(marker.createdAt);
  }
}
