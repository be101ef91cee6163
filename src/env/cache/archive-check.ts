/**
 * Reading and validating an env archive before anything is written: the archive manifest, and every
 * entry's path, type and link target. An entry that would land (or point) outside the env is refused.
 */
import { posix } from "node:path";
import { list, type ReadEntry } from "tar";
import { EnvError } from "../../errors.js";
import type { PackageManagerInfo } from "../types.js";

export const ARCHIVE_MANIFEST_NAME = "hypha-env-archive.json";
export const ARCHIVE_FORMAT = "hypha-conda-worker-env";
export const ARCHIVE_FORMAT_VERSION = 1;
const MAX_MANIFEST_BYTES = 64 * 1024;
const ALLOWED_TYPES = new Set(["File", "OldFile", "ContiguousFile", "Directory", "SymbolicLink", "Link"]);

/** The small JSON document stored at the root of every env archive. */
export interface ArchiveManifest {
  format: typeof ARCHIVE_FORMAT;
  formatVersion: number;
  hash: string;
  /** Name of the env directory under `<cache>/envs/`; also the archive folder holding the prefix. */
  dirName: string;
  /** Real path of the cache the env was built in; envs are not relocatable, so import needs the same. */
  cachePath: string;
  /** The absolute prefix the env lives at. */
  prefix: string;
  /** conda platform subdir, e.g. linux-64. */
  platform: string;
  tool?: PackageManagerInfo;
  /** Symlinks in the env whose absolute targets lie outside it (venv-style interpreters); import needs allowExternalLinks. */
  externalLinks?: Array<{ path: string; target: string }>;
  createdAt?: string;
  exportedAt: string;
  workerVersion: string;
}

interface RawEntry {
  path: string;
  type: string;
  linkpath?: string;
}

const archiveError = (message: string, details?: Record<string, unknown>) =>
  new EnvError("E_ARCHIVE", message, details ? { details } : {});

const escapeError = (file: string, entry: string, why: string, hint = "the archive was not made by 'cache export' or was tampered with") =>
  new EnvError("E_PATH_ESCAPE", `refusing to import ${file}: entry ${JSON.stringify(entry)} ${why}; ${hint}. Nothing was written.`, { details: { entry } });

/** Lists every entry of a .tar.gz and returns the parsed archive manifest with the raw entries. */
async function readArchive(file: string): Promise<{ manifestText?: string; entries: RawEntry[] }> {
  const entries: RawEntry[] = [];
  let manifestText: string | undefined;
  let manifestCount = 0;
  try {
    await list({
      file,
      strict: true,
      onReadEntry: (entry: ReadEntry) => {
        entries.push({ path: entry.path, type: entry.type, ...(entry.linkpath ? { linkpath: entry.linkpath } : {}) });
        if (entry.path === ARCHIVE_MANIFEST_NAME && entry.type === "File") {
          manifestCount += 1;
          const chunks: Buffer[] = [];
          let size = 0;
          entry.on("data", (chunk: Buffer) => {
            size += chunk.length;
            if (size <= MAX_MANIFEST_BYTES) chunks.push(chunk);
          });
          entry.on("end", () => {
            manifestText = size <= MAX_MANIFEST_BYTES ? Buffer.concat(chunks).toString("utf8") : undefined;
          });
        }
      },
    });
  } catch (error) {
    throw new EnvError("E_ARCHIVE", `cannot read ${file} as a gzip tar archive (${(error as Error).message}); give a file written by 'hypha-conda-worker cache export'.`, { cause: error });
  }
  if (manifestCount > 1) throw archiveError(`${file} holds ${ARCHIVE_MANIFEST_NAME} more than once; it was not made by 'cache export'.`);
  return { ...(manifestText !== undefined ? { manifestText } : {}), entries };
}

function parseManifest(file: string, text: string | undefined): ArchiveManifest {
  if (text === undefined) {
    throw archiveError(`${file} has no ${ARCHIVE_MANIFEST_NAME} at its root; only archives written by 'hypha-conda-worker cache export' can be imported.`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new EnvError("E_ARCHIVE", `${ARCHIVE_MANIFEST_NAME} in ${file} is not valid JSON; re-export the env.`, { cause: error });
  }
  const m = value as Partial<ArchiveManifest>;
  if (typeof m !== "object" || m === null || m.format !== ARCHIVE_FORMAT) {
    throw archiveError(`${file} is not a hypha-conda-worker env archive (format ${JSON.stringify(m?.format)}); re-export it with 'cache export'.`);
  }
  if (m.formatVersion !== ARCHIVE_FORMAT_VERSION) {
    throw archiveError(`${file} uses archive format version ${String(m.formatVersion)}, this worker reads version ${ARCHIVE_FORMAT_VERSION}; export it again with this worker's version.`);
  }
  if (typeof m.hash !== "string" || !/^[0-9a-f]{64}$/.test(m.hash)) throw archiveError(`${file} records an invalid env hash; re-export the env.`);
  if (typeof m.dirName !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(m.dirName) || !m.dirName.endsWith(m.hash.slice(0, 16))) {
    throw archiveError(`${file} records an invalid env directory name ${JSON.stringify(m.dirName)}; re-export the env.`);
  }
  for (const key of ["cachePath", "prefix", "platform", "exportedAt", "workerVersion"] as const) {
    if (typeof m[key] !== "string" || m[key] === "") throw archiveError(`${file} records no ${key}; re-export the env.`);
  }
  if (!posix.isAbsolute(m.prefix!) || posix.basename(m.prefix!) !== m.dirName) {
    throw archiveError(`${file} records prefix ${JSON.stringify(m.prefix)} that does not end in its env directory ${m.dirName}; re-export the env.`);
  }
  return m as ArchiveManifest;
}

/** True when `p` (already posix-normalised) is `root` or inside it. */
const within = (p: string, root: string) => p === root || p.startsWith(`${root}/`);

export interface InspectOptions {
  /** Accept symlinks to absolute paths outside the env (e.g. a venv-style python pointing at the system one). */
  allowExternalLinks?: boolean;
  /** Called with the parsed manifest before the entries are checked (e.g. to refuse another cache path first). */
  checkManifest?: (manifest: ArchiveManifest) => void;
}

/** Checks one entry: its path, its type, and where a link points. Throws E_PATH_ESCAPE. */
function checkEntry(file: string, entry: RawEntry, manifest: ArchiveManifest, options: InspectOptions): void {
  const raw = entry.path.replace(/\/+$/, "");
  if (raw === ARCHIVE_MANIFEST_NAME) return;
  if (raw.includes("\0") || raw.includes("\\")) throw escapeError(file, entry.path, "has a NUL or backslash in its path");
  if (posix.isAbsolute(raw) || /^[A-Za-z]:/.test(raw)) throw escapeError(file, entry.path, "has an absolute path");
  if (raw.split("/").includes("..")) throw escapeError(file, entry.path, "contains '..'");
  const path = posix.normalize(raw);
  if (!within(path, manifest.dirName)) throw escapeError(file, entry.path, `is outside the env folder ${manifest.dirName}/`);
  if (!ALLOWED_TYPES.has(entry.type)) throw escapeError(file, entry.path, `is a ${entry.type}, which an env never contains`);
  if (entry.type === "SymbolicLink") {
    const target = entry.linkpath ?? "";
    if (target === "" || target.includes("\0")) throw escapeError(file, entry.path, "is a symlink with an empty target");
    if (posix.isAbsolute(target)) {
      // An absolute target is fine only inside the env's own (fixed, non-relocatable) prefix.
      if (!within(posix.normalize(target), manifest.prefix) && !options.allowExternalLinks) {
        throw escapeError(file, entry.path, `is a symlink to ${target}, outside the env`, "if you trust this archive and that path exists on this machine (e.g. a venv-style python), import with --allow-external-links");
      }
    } else if (!within(posix.normalize(posix.join(posix.dirname(path), target)), manifest.dirName)) {
      throw escapeError(file, entry.path, `is a symlink to ${target}, which escapes the env`);
    }
  }
  if (entry.type === "Link") {
    const target = entry.linkpath ?? "";
    if (posix.isAbsolute(target) || target.split("/").includes("..") || !within(posix.normalize(target), manifest.dirName)) {
      throw escapeError(file, entry.path, `is a hard link to ${target}, outside the env`);
    }
  }
}

/** Refuses any entry that would be written through a symlink the archive itself creates. */
function checkNoWriteThroughLinks(file: string, entries: RawEntry[]): void {
  const links = new Set(entries.filter((e) => e.type === "SymbolicLink").map((e) => posix.normalize(e.path.replace(/\/+$/, ""))));
  for (const entry of entries) {
    const parts = posix.normalize(entry.path.replace(/\/+$/, "")).split("/");
    for (let i = 1; i < parts.length; i += 1) {
      const ancestor = parts.slice(0, i).join("/");
      if (links.has(ancestor)) throw escapeError(file, entry.path, `would be written through the symlink ${ancestor}`);
    }
  }
}

export interface ArchiveInspection {
  manifest: ArchiveManifest;
  entryCount: number;
  /** Symlink entries with absolute targets (already validated); tar would strip their leading "/", so import makes them itself. */
  absoluteLinks: Array<{ path: string; target: string }>;
}

/** Lists and validates a whole archive without writing anything; returns its manifest. */
export async function inspectArchive(file: string, options: InspectOptions = {}): Promise<ArchiveInspection> {
  const { manifestText, entries } = await readArchive(file);
  const manifest = parseManifest(file, manifestText);
  options.checkManifest?.(manifest);
  for (const entry of entries) checkEntry(file, entry, manifest, options);
  checkNoWriteThroughLinks(file, entries);
  const markerPath = `${manifest.dirName}/conda-meta/hypha-conda-worker.json`;
  if (!entries.some((e) => e.path === markerPath && e.type === "File")) {
    throw archiveError(`${file} holds no env marker (${markerPath}); only complete envs can be imported. Re-export a ready env.`);
  }
  const absoluteLinks = entries
    .filter((e) => e.type === "SymbolicLink" && posix.isAbsolute(e.linkpath ?? ""))
    .map((e) => ({ path: posix.normalize(e.path.replace(/\/+$/, "")), target: e.linkpath! }));
  return { manifest, entryCount: entries.length, absoluteLinks };
}
