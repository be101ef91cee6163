/**
 * One HTTP request served by an ASGI service (`type: "asgi"`): the server calls
 * `serve({scope, receive, send})` with `receive` and `send` as functions the app calls back over RPC, as
 * hypha/http.py passes uvicorn's own. `receive` gives the body as one `http.request` event, later calls wait
 * for the end of the exchange and give `http.disconnect`; `send` takes `http.response.start` (status,
 * headers as [name, value] byte pairs) and `http.response.body` (body, more_body).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { readBody, textReply } from "./http-reply.js";

export interface AsgiScope {
  type: "http";
  path: string;
  raw_path: Uint8Array | string;
  query_string: Uint8Array | string;
  headers: Array<[Uint8Array, Uint8Array]> | Record<string, string>;
  [key: string]: unknown;
}

type AsgiMessage = { type?: string; status?: number; headers?: unknown; body?: unknown; more_body?: boolean };

export async function serveAsgi(service: Record<string, unknown>, scope: AsgiScope, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const serve = service.serve;
  if (typeof serve !== "function") {
    textReply(res, 500, "Internal Server Error: the ASGI service has no serve function");
    return;
  }
  const body = await readBody(req);
  let bodyGiven = false;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  res.once("close", () => finish());
  const receive = async () => {
    if (!bodyGiven) {
      bodyGiven = true;
      return { type: "http.request", body: new Uint8Array(body), more_body: false };
    }
    await finished;
    return { type: "http.disconnect" };
  };
  const send = async (message: AsgiMessage) => {
    if (message.type === "http.response.start") {
      if (res.headersSent) throw new Error("ASGI: http.response.start sent twice");
      res.writeHead(Number(message.status ?? 200), headerPairs(message.headers));
    } else if (message.type === "http.response.body") {
      if (!res.headersSent) throw new Error("ASGI: http.response.body before http.response.start");
      const chunk = toBuffer(message.body);
      if (chunk.byteLength > 0) res.write(chunk);
      if (!message.more_body) {
        res.end();
        finish();
      }
    } else {
      throw new Error(`ASGI: unexpected message type ${JSON.stringify(message.type)}`);
    }
  };
  try {
    await (serve as (args: unknown) => Promise<unknown>)({ scope, receive, send });
  } finally {
    // uvicorn answers 500 when the app returned without starting a response.
    if (!res.headersSent) textReply(res, 500, "Internal Server Error: the ASGI app returned without a response");
    else if (!res.writableEnded) res.end();
    finish();
  }
}

/** ASGI headers: a list of [name, value] pairs of bytes (or strings). */
function headerPairs(headers: unknown): string[] {
  const flat: string[] = [];
  if (!Array.isArray(headers)) return flat;
  for (const pair of headers) {
    if (Array.isArray(pair) && pair.length === 2) flat.push(toBuffer(pair[0]).toString("latin1"), toBuffer(pair[1]).toString("latin1"));
  }
  return flat;
}

export function toBuffer(value: unknown): Buffer {
  if (value === undefined || value === null) return Buffer.alloc(0);
  if (typeof value === "string") return Buffer.from(value, "utf8");
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  throw new Error(`expected bytes, got ${typeof value}`);
}
