/** Frames go unmasked only where nothing on the path can read them: over TLS and to loopback. */
import { describe, expect, it } from "vitest";
import { once } from "node:events";
import WebSocket, { WebSocketServer } from "ws";
import { maskOptionsFor } from "../../src/hypha/frame-mask.js";

describe("maskOptionsFor", () => {
  it.each(["wss://hypha.example.org/ws", "ws://127.0.0.1:9527/ws", "ws://localhost:9527/ws", "ws://[::1]:9527/ws", "http://127.0.0.2:1/"])("%s: zero key", (url) => {
    expect(maskOptionsFor(url).generateMask).toBeTypeOf("function");
  });

  it.each(["ws://hypha.example.org/ws", "ws://10.0.0.5:9527/ws", "ws://127.0.0.1.evil.example/ws", "not a url"])("%s: random key (ws default)", (url) => {
    expect(maskOptionsFor(url)).toEqual({});
  });
});

/** The first client frame as the server's socket received it: mask key and payload bytes. */
async function firstFrame(options: WebSocket.ClientOptions): Promise<{ key: number[]; payload: string }> {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  const raw = new Promise<Buffer>((resolve) => {
    server.on("connection", (_socket, request) => request.socket.prependOnceListener("data", (data: Buffer) => resolve(Buffer.from(data))));
  });
  const client = new WebSocket(`ws://127.0.0.1:${port}/`, options);
  await once(client, "open");
  client.send("hello");
  const frame = await raw;
  client.close();
  server.close();
  // Copied before ws unmasks in place. FIN+text, then mask bit + length 5, then the 4-byte key, then the payload.
  expect(frame[1]! & 0x80).toBe(0x80);
  return { key: [...frame.subarray(2, 6)], payload: frame.subarray(6, 11).toString("latin1") };
}

describe("ws with those options", () => {
  it("sends a zero key and the payload as is to loopback", async () => {
    expect(await firstFrame(maskOptionsFor("ws://127.0.0.1/"))).toEqual({ key: [0, 0, 0, 0], payload: "hello" });
  });

  it("masks with a random key otherwise (the test above can fail)", async () => {
    const frame = await firstFrame(maskOptionsFor("ws://hypha.example.org/"));
    expect(frame.key).not.toEqual([0, 0, 0, 0]);
    expect(frame.payload).not.toBe("hello");
  });
});
