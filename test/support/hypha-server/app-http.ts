/**
 * App services over HTTP, as hypha/http.py's ASGIRoutingMiddleware (0.21.135): a request to
 * `/{workspace}/apps/{service_id}/{path}` resolves `{workspace}/{service_id}` with the HTTP caller's
 * permissions (Bearer token or `access_token` cookie, else anonymous; `?_mode=` picks among several), then
 * - `type: "asgi"`: `serve({scope, receive, send})`, see asgi-exchange.ts;
 * - `type: "functions"`: the function named by the path, see functions-call.ts;
 * - any other type: 500 `Invalid service type: <type>`.
 * A failed lookup answers text/plain with the status `_get_status_for_remote_exception` gives: "not found"
 * → 404, "Permission denied" → 403, other errors → 500; an invalid token → 401.
 */
import type { IncomingMessage } from "node:http";
import { serveAsgi, type AsgiScope } from "./asgi-exchange.js";
import { callFunctionService } from "./functions-call.js";
import { textReply } from "./http-reply.js";
import type { WorkspaceManager } from "./manager.js";
import type { HttpRoute } from "./server.js";
import { anonymousUser, userFromClaims, type TokenAuthority, type UserInfo } from "./tokens.js";

// Starlette's `{workspace}/apps/{service_id}/{path:path}`: the trailing slash after the service id is required.
const ROUTE = /^\/([^/]+)\/apps\/([^/]+)\/(.*)$/;

/** The route; `manager` is read per request (it changes on restart). */
export function routeAppServices(manager: () => WorkspaceManager | undefined, tokens: TokenAuthority): HttpRoute {
  return async (req, res, url) => {
    const match = ROUTE.exec(url.pathname);
    const current = manager();
    if (!match || !current) return false;
    const [workspace, serviceId, rest] = [match[1]!, match[2]!, match[3]!].map(decodeURIComponent) as [string, string, string];
    let user: UserInfo;
    try {
      user = callerOf(req, tokens);
    } catch (error) {
      return textReply(res, 401, (error as Error).message);
    }
    try {
      const mode = url.searchParams.get("_mode") ?? undefined;
      const record = current.resolve(`${workspace}/${serviceId}`, { ws: user.scope.current_workspace, from: `${user.scope.current_workspace}/http`, user }, mode ? { mode } : undefined);
      const service = await current.remoteService(record.id);
      const scope = baseScope(req, url, `/${rest}`, workspace, serviceId);
      const type = record.type;
      if (type === "asgi" || type === "ASGI") await serveAsgi(service, scope, req, res);
      else if (type === "functions") await callFunctionService(service, scope, req, res, user);
      else textReply(res, 500, `Invalid service type: ${String(type)}`);
    } catch (error) {
      if (!res.headersSent) textReply(res, statusFor(error), errorText(error));
      else res.end();
    }
    return true;
  };
}

/** As `login_optional`: a Bearer token or the `access_token` cookie; none → a fresh anonymous user. */
function callerOf(req: IncomingMessage, tokens: TokenAuthority): UserInfo {
  const header = req.headers.authorization;
  const bearer = typeof header === "string" ? /^Bearer\s+(\S+)$/i.exec(header)?.[1] : undefined;
  const cookie = /(?:^|;\s*)access_token=([^;]+)/.exec(req.headers.cookie ?? "")?.[1];
  const token = bearer ?? cookie;
  if (!token) return anonymousUser("http");
  return userFromClaims(tokens.verify(token), "http");
}

/** The scope the real server passes on: uvicorn's, with `path`/`raw_path` the path below the service. */
function baseScope(req: IncomingMessage, url: URL, path: string, workspace: string, serviceId: string): AsgiScope {
  const headers: Array<[Uint8Array, Uint8Array]> = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    headers.push([Buffer.from(req.rawHeaders[i]!.toLowerCase(), "latin1"), Buffer.from(req.rawHeaders[i + 1]!, "latin1")]);
  }
  const socket = req.socket;
  return {
    type: "http",
    asgi: { version: "3.0", spec_version: "2.3" },
    http_version: req.httpVersion,
    server: [socket.localAddress ?? "127.0.0.1", socket.localPort ?? 0],
    client: [socket.remoteAddress ?? "127.0.0.1", socket.remotePort ?? 0],
    scheme: "http",
    method: req.method ?? "GET",
    root_path: "",
    path,
    raw_path: Buffer.from(path, "latin1"),
    query_string: Buffer.from(url.search.replace(/^\?/, ""), "latin1"),
    headers,
    workspace,
    service_id: serviceId,
  };
}

/** hypha/http.py `_get_status_for_remote_exception`. */
function statusFor(error: unknown): number {
  const message = errorText(error);
  if (message.includes("KeyError:") || message.toLowerCase().includes("not found")) return 404;
  if (message.includes("PermissionError:") || message.includes("Permission denied")) return 403;
  if (/TypeError:|ValueError:|AssertionError:/.test(message)) return 400;
  return 500;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
