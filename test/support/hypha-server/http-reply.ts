/** Small HTTP helpers of the app-service routes. */
import type { IncomingMessage, ServerResponse } from "node:http";

export function textReply(res: ServerResponse, status: number, text: string): true {
  res.writeHead(status, { "content-type": "text/plain" }).end(text);
  return true;
}

/** The whole request body (the real server reads it through ASGI `receive`). */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
