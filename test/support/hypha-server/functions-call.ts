/**
 * One HTTP request to a `type: "functions"` service, as hypha/http.py `handle_function_service`: the path
 * below the service names a function (nested keys by `/`; empty → `index`; `a/b` may fall back to
 * `a/b/index`, then to the service's `default` with `scope.function_path`). The function gets the scope
 * with `query_string` and `raw_path` as text, `headers` as an object, `body` as bytes or null and `user`, and
 * returns `{status, headers, body}`; the server adds CORS headers. A function that throws, or a body that is
 * neither text nor bytes, answers 500; no function → 404 `Function not found: <path>`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AsgiScope } from "./asgi-exchange.js";
import { toBuffer } from "./asgi-exchange.js";
import { readBody, textReply } from "./http-reply.js";
import type { UserInfo } from "./tokens.js";

type Fn = (scope: unknown) => Promise<unknown>;

function findNested(service: Record<string, unknown>, parts: string[]): Fn | undefined {
  let current: unknown = service;
  for (const part of parts) {
    if (current === null || typeof current !== "object" || !(part in current)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return typeof current === "function" ? (current as Fn) : undefined;
}

export async function callFunctionService(service: Record<string, unknown>, scope: AsgiScope, req: IncomingMessage, res: ServerResponse, user: UserInfo): Promise<void> {
  const path = scope.path.replace(/^\/+|\/+$/g, "") || "index";
  const parts = path.split("/");
  let fn = findNested(service, parts);
  if (!fn && parts.length > 1) fn = findNested(service, [...parts, "index"]);
  const callScope: Record<string, unknown> = { ...scope };
  if (!fn && typeof service.default === "function") {
    fn = service.default as Fn;
    callScope.function_path = path === "index" ? "/" : `/${path}`;
  }
  if (!fn) {
    textReply(res, 404, `Function not found: ${path}`);
    return;
  }
  const body = await readBody(req);
  callScope.query_string = toBuffer(scope.query_string).toString("utf8");
  callScope.raw_path = toBuffer(scope.raw_path).toString("latin1");
  callScope.headers = Object.fromEntries((scope.headers as Array<[Uint8Array, Uint8Array]>).map(([k, v]) => [toBuffer(k).toString("latin1"), toBuffer(v).toString("latin1")]));
  callScope.body = body.byteLength > 0 ? new Uint8Array(body) : null;
  callScope.user = user;
  let status: number;
  let headers: Record<string, string>;
  let content: Buffer;
  try {
    const result = ((await fn(callScope)) ?? {}) as { status?: unknown; headers?: unknown; body?: unknown };
    status = result.status === undefined ? 200 : Number(result.status);
    if (!Number.isInteger(status)) throw new Error(`AssertionError: status must be an int, got ${JSON.stringify(result.status)}`);
    headers = { ...((result.headers as Record<string, string> | undefined) ?? {}) };
    content = toBuffer(result.body);
  } catch (error) {
    textReply(res, 500, `Internal Server Error: ${(error as Error).message}`);
    return;
  }
  const origin = (callScope.headers as Record<string, string>).origin;
  Object.assign(headers, {
    "Access-Control-Allow-Credentials": "true",
    "Access-Control-Allow-Origin": origin ?? "*",
    "Access-Control-Allow-Methods": "GET,POST,PUT,DELETE,OPTIONS",
    "Access-Control-Allow-Headers": "Authorization,Content-Type",
    "Access-Control-Expose-Headers": "Content-Disposition",
  });
  res.writeHead(status, headers).end(content);
}
