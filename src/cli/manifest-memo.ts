/**
 * A content-addressed memo of parsed YAML manifests for `run`. Authors run one manifest over and over, and
 * loading the yaml package and parsing cold is the largest share of a warm run's start-up (~50-65 ms). The key
 * is the sha256 of the text (and of this worker's version and parse options), so an edited manifest is simply
 * a new entry and an entry can never be stale. Only documents that JSON represents exactly are kept. Best
 * effort: an unreadable or unwritable memo falls back to parsing, and parse errors always come from the parser.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { VERSION } from "../version.js";
import { loadYaml } from "../yaml-lazy.js";

/** Entries kept; the oldest are removed when a new one is written past this. */
export const MANIFEST_MEMO_MAX_ENTRIES = 256;
const PARSE_OPTIONS = { schema: "core", uniqueKeys: true } as const;

/** Where `run` keeps the memo: `<cache root>/memo/manifests`. */
export function manifestMemoDir(cacheRoot: string): string {
  return path.join(cacheRoot, "memo", "manifests");
}

/** Parses manifest YAML (or JSON) text, through the memo in `memoDir` when one is given. */
export async function parseManifestText(text: string, memoDir: string | undefined): Promise<unknown> {
  if (!memoDir) return loadYaml().parse(text, PARSE_OPTIONS);
  const file = path.join(memoDir, `${memoKey(text)}.json`);
  const remembered = await readMemo(file);
  if (remembered !== undefined) return remembered;
  const parsed: unknown = loadYaml().parse(text, PARSE_OPTIONS);
  if (isExactJson(parsed)) await writeMemo(memoDir, file, parsed).catch(() => undefined);
  return parsed;
}

function memoKey(text: string): string {
  return createHash("sha256").update(`hypha-conda-worker ${VERSION} yaml ${JSON.stringify(PARSE_OPTIONS)}\n`).update(text).digest("hex");
}

async function readMemo(file: string): Promise<unknown> {
  try {
    const entry = JSON.parse(await readFile(file, "utf8")) as { parsed?: unknown };
    return entry.parsed;
  } catch {
    return undefined;
  }
}

async function writeMemo(memoDir: string, file: string, parsed: unknown): Promise<void> {
  await mkdir(memoDir, { recursive: true });
  const temp = `${file}.${randomBytes(4).toString("hex")}.tmp`;
  await writeFile(temp, JSON.stringify({ parsed }));
  await rename(temp, file);
  await pruneMemo(memoDir);
}

/** Removes the oldest entries beyond MANIFEST_MEMO_MAX_ENTRIES (and temp files left by a crash). */
async function pruneMemo(memoDir: string): Promise<void> {
  const names = await readdir(memoDir);
  if (names.length <= MANIFEST_MEMO_MAX_ENTRIES) return;
  const entries = await Promise.all(names.map(async (name) => ({ name, mtimeMs: (await stat(path.join(memoDir, name)).catch(() => undefined))?.mtimeMs ?? 0 })));
  entries.sort((a, b) => a.mtimeMs - b.mtimeMs);
  const excess = entries.slice(0, entries.length - MANIFEST_MEMO_MAX_ENTRIES);
  await Promise.all(excess.map((e) => rm(path.join(memoDir, e.name), { force: true })));
}

/** True when JSON.stringify/parse gives back exactly this value (no NaN, Infinity, class instances). */
export function isExactJson(value: unknown): boolean {
  if (value === null || typeof value === "string" || typeof value === "boolean") return true;
  if (typeof value === "number") return Number.isFinite(value) && !Object.is(value, -0);
  if (Array.isArray(value)) return value.every(isExactJson);
  if (typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return false;
  return Object.values(value as Record<string, unknown>).every(isExactJson);
}
