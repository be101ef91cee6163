/**
 * App files over HTTP on the test server, as the real artifact manager serves them to workers:
 * `GET /{workspace}/artifacts/{app_id}/files/{path}?use_proxy=true` with `Authorization: Bearer <token>`.
 * A path ending in `/` lists the folder as `[{name, type: "file"|"directory", size}]`. Missing → 404,
 * no token → 401, a token that is invalid or for another workspace → 403.
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

export interface ListedEntry {
  name: string;
  type: "file" | "directory";
  size: number;
}

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
      const listing = listFolder(files, rawPath);
      record(listing ? 200 : 404);
      return listing ? reply(res, 200, listing) : reply(res, 404, { detail: `Folder not found: ${rawPath}` });
    }
    const content = files.get(rawPath);
    record(content ? 200 : 404);
    if (!content) return reply(res, 404, { detail: `File not found: ${rawPath}` });
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": content.byteLength }).end(content);
    return true;
  });
}

function checkAuthorization(server: HyphaTestServer, req: IncomingMessage, workspace: string): { status: number; detail: string } | undefined {
  const header = req.headers.authorization;
  const match = typeof header === "string" ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  if (!match) return { status: 401, detail: "Authentication required: send 'Authorization: Bearer <token>'" };
  try {
    const claims = server.tokens.verify(match[1] as string);
    if (claims.ws !== workspace) return { status: 403, detail: `Permission denied: the token is for workspace ${claims.ws}, not ${workspace}` };
  } catch (error) {
    return { status: 403, detail: (error as Error).message };
  }
  return undefined;
}

/** Direct children of `folder` ("" = root), or undefined when no file lies below it. */
function listFolder(files: Map<string, Buffer>, folder: string): ListedEntry[] | undefined {
  const entries = new Map<string, ListedEntry>();
  for (const [path, bytes] of files) {
    if (!path.startsWith(folder)) continue;
    const rest = path.slice(folder.length);
    const slash = rest.indexOf("/");
    if (slash < 0) entries.set(rest, { name: rest, type: "file", size: bytes.byteLength });
    else {
      const name = rest.slice(0, slash);
      const dir = entries.get(name) ?? { name, type: "directory" as const, size: 0 };
      dir.size += bytes.byteLength;
      entries.set(name, dir);
    }
  }
  if (entries.size === 0 && folder !== "") return undefined;
  return [...entries.values()].sort((a, b) => a.name.localeCompare(b.name));
}

function reply(res: ServerResponse, status: number, body: unknown): true {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  return true;
}
