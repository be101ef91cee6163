/** A bare WebSocket client for tests that look at the wire (handshake, ping, raw frames). */
import WebSocket from "ws";
import { decodeMulti } from "@msgpack/msgpack";

export interface RawClient {
  socket: WebSocket;
  /** The first text answer of the server (connection_info or error). */
  first: Record<string, unknown>;
  /** Resolves with the next message (text parsed as JSON, binary decoded as msgpack main+extra). */
  next(): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/** Connects and sends the auth frame; resolves after the server's first answer. */
export async function openRawClient(wsUrl: string, auth: Record<string, unknown>): Promise<RawClient> {
  const socket = new WebSocket(wsUrl);
  const queue: Array<Record<string, unknown>> = [];
  const waiters: Array<(m: Record<string, unknown>) => void> = [];
  socket.on("message", (data: Buffer, isBinary: boolean) => {
    let message: Record<string, unknown>;
    if (isBinary) {
      const parts = [...decodeMulti(data)] as Array<Record<string, unknown>>;
      message = Object.assign({}, ...parts) as Record<string, unknown>;
    } else {
      message = JSON.parse(data.toString("utf8")) as Record<string, unknown>;
    }
    const waiter = waiters.shift();
    if (waiter) waiter(message);
    else queue.push(message);
  });
  const next = (): Promise<Record<string, unknown>> => {
    const queued = queue.shift();
    return queued ? Promise.resolve(queued) : new Promise((resolve) => waiters.push(resolve));
  };
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  socket.send(JSON.stringify(auth));
  const first = await next();
  const close = async (): Promise<void> => {
    if (socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      socket.once("close", () => resolve());
      socket.close();
    });
  };
  return { socket, first, next, close };
}
