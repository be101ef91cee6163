/**
 * App files over HTTP on the test server, as the real artifact manager serves them to workers:
 * `GET /{workspace}/artifacts/{app_id}/files/{path}?use_proxy=true` with `Authorization: Bearer <token>`.
 * A path ending in `/` lists the folder as files `{type: "file", name, size, last_modified}` then folders
 * `{type: "directory", name}`, one page of `limit` (default 1000) entries from `offset`; an empty page → 404
 * (hypha/artifact.py get_file + utils.list_objects_async). Missing → 404, no token → 403 (anonymous), an
 * invalid or expired token → 401, a token for another workspace → 403.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { HyphaTestServer } from "../hypha-server/server.js";

export interface FileRequest {
  workspace: string;
  appId: string;
  path: string;
  useProxy: boolean;
  status: number;
}

export type ListedEntry = { type: "file"; name: string; size: number; last_modified: number } | { type: "directory"; name: string };

const DEFAULT_LISTING_LIMIT = 1000;

/** Looks up an installed app's files by workspace and app id. */
export type AppFilesLookup = (workspace: string, appId: string) => Map<string, Buffer> | undefined;

const ROUTE = /^\/([^/]+)\/artifacts\/([^/]+)\/files(?:\/(.*))?$/;

/** Registers the route; returns its remover. Every request is appended to `log`. */
export function serveAppFiles(server: HyphaTestServer, lookup: AppFilesLookup, log: FileRequest[]): () => void {
  return server.addHttpRoute((req, res, url) => {
    const match = ROUTE.exec(url.pathname);
    if (!match || req.method !== "GET") return false;
    const [, workspace, appId, rawPath = ""] = match.map((p) => (p === undefined ? p : decodeURIComponent(p))) as [string, string, string, string?];
    const record = (status: number) => log.push({ workspace, appId, path: rawPath, useProxy: url.searchParams.get("use_proxy") === "true", status });
    const denied = checkAuthorization(server, req, workspace);
    if (denied) {
      record(denied.status);
      return reply(res, denied.status, { detail: denied.detail });
    }
    const files = lookup(workspace, appId);
    if (!files) {
      record(404);
      return reply(res, 404, { detail: `Artifact ${workspace}/${appId} does not exist` });
    }
    if (rawPath === "" || rawPath.endsWith("/")) {
      const limit = Number(url.searchParams.get("limit") ?? DEFAULT_LISTING_LIMIT);
      const offset = Number(url.searchParams.get("offset") ?? 0);
      const listing = listFolder(files, rawPath).slice(offset, offset + limit);
      record(listing.length > 0 ? 200 : 404);
      return listing.length > 0 ? reply(res, 200, listing) : reply(res, 404, { detail: "File or directory not found" });
    }
    const content = files.get(rawPath);
    record(content ? 200 : 404);
    if (!content) return reply(res, 404, { detail: `File not found: ${rawPath}` });
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": content.byteLength }).end(content);
    return true;
  });
}

/**
 * As hypha's `login_optional` + artifact permission check: no token → anonymous user → 403; a token that
 * does not parse or has expired → 401; a valid token for another workspace → 403.
 */
function checkAuthorization(server: HyphaTestServer, req: IncomingMessage, workspace: string): { status: number; detail: string } | undefined {
  const header = req.headers.authorization;
  const match = typeof header === "string" ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  if (!match) return { status: 403, detail: "Permission denied" };
  try {
    const claims = server.tokens.verify(match[1] as string);
    if (claims.ws !== workspace) return { status: 403, detail: "Permission denied" };
  } catch (error) {
    return { status: 401, detail: (error as Error).message };
  }
  return undefined;
}

/** Direct children of `folder` ("" = root): files first, then folders, each sorted by name. */
function listFolder(files: Map<string, Buffer>, folder: string): ListedEntry[] {
  const fileEntries: ListedEntry[] = [];
  const dirs = new Set<string>();
  for (const [path, bytes] of files) {
    if (!path.startsWith(folder)) continue;
    const rest = path.slice(folder.length);
    const slash = rest.indexOf("/");
    if (slash < 0) fileEntries.push({ type: "file", name: rest, size: bytes.byteLength, last_modified: 1_700_000_000 });
    else dirs.add(rest.slice(0, slash));
  }
  fileEntries.sort((a, b) => a.name.localeCompare(b.name));
  return [...fileEntries, ...[...dirs].sort().map((name): ListedEntry => ({ type: "directory", name }))];
}

function reply(res: ServerResponse, status: number, body: unknown): true {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  return true;
}
