/**
 * Where an app's files come from. Production: Hypha's artifact files over HTTP
 * (`GET {app_files_base_url}/{path}?use_proxy=true`, `Authorization: Bearer {token}`, folders as a JSON
 * listing). Local `run`: a directory on disk. Both refuse paths that could leave the app's file tree.
 */
import { lstat, readFile, readdir, realpath } from "node:fs/promises";
import path from "node:path";
import { SessionError, describeError } from "../errors.js";
import { redact } from "../redact.js";
import type { AppFileSource } from "./types.js";

export type FolderEntry = Awaited<ReturnType<AppFileSource["listFolder"]>>[number];

export const DEFAULT_MAX_FILE_BYTES = 100 * 1024 * 1024;
const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
const MAX_LISTING_BYTES = 4 * 1024 * 1024;
/** The artifact files endpoint answers at most `limit` entries per request (its default is 1000). */
export const LISTING_PAGE_SIZE = 1000;
/** Folders larger than this are refused rather than listed forever. */
const MAX_LISTING_ENTRIES = 100_000;

/**
 * Checks an app-relative path ("a/b.py", or "a/b/" for a folder): no absolute path, no "..", no ".",
 * no empty segment, no backslash, no NUL or control character. Returns its segments.
 */
export function checkRelativePath(relPath: string, what = "app file path"): string[] {
  const bad = (reason: string): never => {
    throw new SessionError("E_PATH_ESCAPE", `Refusing ${what} ${JSON.stringify(relPath)}: ${reason}. Use a relative path inside the app, such as "data/input.txt".`);
  };
  if (typeof relPath !== "string" || relPath.length === 0) bad("it is empty");
  if (relPath.length > 1024) bad("it is longer than 1024 characters");
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(relPath)) bad("it contains a control or NUL character");
  if (relPath.includes("\\")) bad("it contains a backslash");
  if (relPath.startsWith("/") || /^[A-Za-z]:/.test(relPath)) bad("it is absolute");
  const segments = relPath.replace(/\/$/, "").split("/");
  for (const segment of segments) {
    if (segment === "..") bad("it climbs out with \"..\"");
    if (segment === "" || segment === ".") bad("it has an empty or \".\" segment");
  }
  return segments;
}

/** Checks one name from a folder listing: a single segment, never "." or "..". */
export function checkListingName(name: unknown, folder: string): string {
  if (typeof name !== "string" || name.includes("/") || name === "." || name === "..") {
    throw new SessionError("E_PATH_ESCAPE", `Refusing the entry ${JSON.stringify(name)} listed in folder ${JSON.stringify(folder)}: a listed name must be one path segment. Rename the file in the app.`);
  }
  checkRelativePath(name, "listed file name");
  return name;
}

export interface HttpFileSourceOptions {
  baseUrl: string;
  token?: string;
  maxFileBytes?: number;
  timeoutMs?: number;
  fetchImpl?: typeof fetch;
}

/** The production source: the app's artifact files on the Hypha server. */
export function createHttpFileSource(options: HttpFileSourceOptions): AppFileSource {
  let base: URL;
  try {
    base = new URL(options.baseUrl.replace(/\/+$/, ""));
  } catch (error) {
    throw new SessionError("E_APP_FILES", `app_files_base_url ${JSON.stringify(options.baseUrl)} is not a URL; the start config must carry the server's artifact files URL.`, { cause: error });
  }
  if (base.protocol !== "http:" && base.protocol !== "https:") {
    throw new SessionError("E_APP_FILES", `app_files_base_url must be http(s), got ${JSON.stringify(base.protocol)}.`);
  }
  const fetchImpl = options.fetchImpl ?? fetch;
  const maxBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const urlFor = (segments: string[], folder: boolean, offset = 0) => {
    const url = new URL(base.href);
    const rel = segments.map((segment) => `/${encodeURIComponent(segment)}`).join("");
    url.pathname = `${url.pathname.replace(/\/+$/, "")}${rel}${folder ? "/" : ""}`;
    url.searchParams.set("use_proxy", "true");
    if (folder) {
      url.searchParams.set("limit", String(LISTING_PAGE_SIZE));
      url.searchParams.set("offset", String(offset));
    }
    return url;
  };
  const request = async (url: URL, relPath: string, limit: number): Promise<Buffer | undefined> => {
    const headers: Record<string, string> = options.token ? { Authorization: `Bearer ${options.token}` } : {};
    let response: Response;
    try {
      response = await fetchImpl(url, { headers, redirect: "follow", signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      throw new SessionError("E_APP_FILES", redact(`Could not fetch app file ${JSON.stringify(relPath)} from ${url.origin}: ${describeError(error)}. Check that the Hypha server is reachable from the worker.`), { cause: error });
    }
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    if (!response.ok) {
      await response.body?.cancel();
      const hint = response.status === 401 || response.status === 403 ? " The app token was refused; restart the app so the server issues a fresh one." : "";
      throw new SessionError("E_APP_FILES", `Fetching app file ${JSON.stringify(relPath)} failed with HTTP ${response.status}.${hint}`, { details: { status: response.status } });
    }
    return readLimited(response, relPath, limit);
  };
  return {
    async readFile(relPath) {
      const segments = checkRelativePath(relPath);
      if (relPath.endsWith("/")) throw new SessionError("E_APP_FILES", `${JSON.stringify(relPath)} names a folder, not a file.`);
      return request(urlFor(segments, false), relPath, maxBytes);
    },
    async listFolder(relPath) {
      const segments = relPath === "" || relPath === "/" ? [] : checkRelativePath(relPath);
      const entries: FolderEntry[] = [];
      // The server pages listings (limit/offset) and answers 404 for a page past the end.
      for (let offset = 0; ; offset += LISTING_PAGE_SIZE) {
        const body = await request(urlFor(segments, true, offset), relPath, MAX_LISTING_BYTES);
        if (body === undefined) {
          if (offset === 0) throw new SessionError("E_APP_FILES", `The app has no folder ${JSON.stringify(relPath)}. Fix files_to_stage in the manifest.`);
          break;
        }
        const page = parseListing(body, relPath);
        entries.push(...page.entries);
        if (page.rawCount < LISTING_PAGE_SIZE) break;
        if (entries.length > MAX_LISTING_ENTRIES) {
          throw new SessionError("E_APP_FILES", `Folder ${JSON.stringify(relPath)} lists more than ${MAX_LISTING_ENTRIES} entries; stage a smaller folder.`);
        }
      }
      return entries;
    },
  };
}

async function readLimited(response: Response, relPath: string, limit: number): Promise<Buffer> {
  const declared = Number(response.headers.get("content-length") ?? "0");
  const tooBig = () => new SessionError("E_APP_FILES", `App file ${JSON.stringify(relPath)} is larger than the limit of ${limit} bytes. Make it smaller or raise the limit.`);
  if (declared > limit) {
    await response.body?.cancel();
    throw tooBig();
  }
  if (!response.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (total > limit) throw tooBig();
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

function parseListing(body: Buffer, folder: string): { entries: FolderEntry[]; rawCount: number } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch (error) {
    throw new SessionError("E_APP_FILES", `The listing of folder ${JSON.stringify(folder)} is not JSON; the server must answer a folder path ending in "/" with [{name, type, size}].`, { cause: error });
  }
  if (!Array.isArray(parsed)) throw new SessionError("E_APP_FILES", `The listing of folder ${JSON.stringify(folder)} is not a JSON array.`);
  const entries: FolderEntry[] = [];
  for (const item of parsed as unknown[]) {
    const entry = item as { name?: unknown; type?: unknown; size?: unknown };
    // An S3 "folder marker" object (key ending in "/") lists as a nameless file: it holds no content.
    if (entry?.type === "file" && entry.name === "") continue;
    const name = checkListingName(entry?.name, folder);
    if (entry.type !== "file" && entry.type !== "directory") {
      throw new SessionError("E_APP_FILES", `The listing of folder ${JSON.stringify(folder)} has entry ${JSON.stringify(name)} of unknown type ${JSON.stringify(entry.type)}.`);
    }
    entries.push({ name, type: entry.type, ...(typeof entry.size === "number" ? { size: entry.size } : {}) });
  }
  return { entries, rawCount: parsed.length };
}

/** The local source (`run`): files under `root`; symlinks that lead outside it are refused. */
export function createDirectoryFileSource(root: string, maxFileBytes = DEFAULT_MAX_FILE_BYTES): AppFileSource {
  const realRoot = realpath(path.resolve(root)).catch((error: unknown) => {
    throw new SessionError("E_APP_FILES", `The app folder ${root} does not exist or is unreadable: ${describeError(error)}.`, { cause: error });
  });
  const resolveInside = async (relPath: string): Promise<string | undefined> => {
    const rootPath = await realRoot;
    const segments = relPath === "" || relPath === "/" ? [] : checkRelativePath(relPath);
    let real: string;
    try {
      real = await realpath(path.join(rootPath, ...segments));
    } catch {
      return undefined;
    }
    const rel = path.relative(rootPath, real);
    if (rel.startsWith("..") || path.isAbsolute(rel)) {
      throw new SessionError("E_PATH_ESCAPE", `Refusing app file ${JSON.stringify(relPath)}: it is a symlink that leads outside the app folder.`);
    }
    return real;
  };
  return {
    async readFile(relPath) {
      const file = await resolveInside(relPath);
      if (file === undefined) return undefined;
      const info = await lstat(file);
      if (!info.isFile()) return undefined;
      if (info.size > maxFileBytes) throw new SessionError("E_APP_FILES", `App file ${JSON.stringify(relPath)} is larger than the limit of ${maxFileBytes} bytes.`);
      return readFile(file);
    },
    async listFolder(relPath) {
      const dir = await resolveInside(relPath);
      if (dir === undefined) throw new SessionError("E_APP_FILES", `The app has no folder ${JSON.stringify(relPath)}. Fix files_to_stage in the manifest.`);
      const entries = await readdir(dir, { withFileTypes: true });
      const out: FolderEntry[] = [];
      for (const entry of entries) {
        if (entry.isFile()) out.push({ name: entry.name, type: "file", size: (await lstat(path.join(dir, entry.name))).size });
        else if (entry.isDirectory()) out.push({ name: entry.name, type: "directory" });
        else if (entry.isSymbolicLink()) {
          const target = await resolveInside(`${relPath.replace(/\/?$/, "/")}${entry.name}`.replace(/^\//, ""));
          if (target === undefined) continue;
          const info = await lstat(target);
          out.push(info.isDirectory() ? { name: entry.name, type: "directory" } : { name: entry.name, type: "file", size: info.size });
        }
      }
      return out;
    },
  };
}
