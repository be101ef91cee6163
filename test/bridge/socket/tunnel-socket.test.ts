/**
 * The worker's half of the app's socket (src/bridge/socket/tunnel-socket.ts) against a recording link:
 * what hypha-rpc's websocket-client sees (readyState, on* handlers, ArrayBuffer messages, close codes),
 * what travels to the app, and the fallback to a socket of the worker's own when the app cannot open one.
 */
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { TunnelSocket, type TunnelLink, type WebSocketClass } from "../../../src/bridge/socket/tunnel-socket.js";

function recordingLink(open = true) {
  const sent: Array<{ message: Record<string, unknown>; blobs?: Uint8Array[] }> = [];
  const sockets = new Map<number, TunnelSocket>();
  const fallbacks: string[] = [];
  let id = 0;
  const link: TunnelLink = {
    send: (message, blobs) => {
      if (!open) return false;
      sent.push({ message, ...(blobs ? { blobs } : {}) });
      return true;
    },
    register: (n, socket) => sockets.set(n, socket),
    unregister: (n) => sockets.delete(n),
    nextId: () => ++id,
    onFallback: (reason) => fallbacks.push(reason),
  };
  return { link, sent, sockets, fallbacks };
}

class FakeWs extends EventEmitter {
  static made: FakeWs[] = [];
  readyState = 0;
  binaryType = "";
  onopen: ((e: unknown) => void) | null = null;
  onmessage: ((e: unknown) => void) | null = null;
  onclose: ((e: unknown) => void) | null = null;
  onerror: ((e: unknown) => void) | null = null;
  sent: unknown[] = [];
  constructor(readonly address: string) {
    super();
    FakeWs.made.push(this);
  }
  send(data: unknown) {
    this.sent.push(data);
  }
  close() {}
}
const Fallback = FakeWs as unknown as WebSocketClass;

describe("TunnelSocket", () => {
  it("asks the app to open the URL and behaves like an open WebSocket once the app says so", () => {
    const { link, sent } = recordingLink();
    const socket = new TunnelSocket(link, Fallback, true, "ws://127.0.0.1:9/ws");
    expect(sent[0]!.message).toEqual({ t: "sock_open", s: 1, url: "ws://127.0.0.1:9/ws", insecure: true });
    expect(socket.readyState).toBe(TunnelSocket.CONNECTING);
    expect(() => socket.send("early")).toThrow(/not open/);
    const events: string[] = [];
    socket.onopen = () => events.push("open");
    socket.onmessage = (event) => {
      const data = (event as { data: unknown }).data;
      events.push(typeof data === "string" ? `text:${data}` : `bytes:${[...new Uint8Array(data as ArrayBuffer)].join(",")}`);
    };
    socket.opened();
    expect(socket.readyState).toBe(TunnelSocket.OPEN);
    socket.received('{"type":"connection_info"}');
    // A view into a larger buffer (as Node's pooled Buffers are) arrives as exactly its own bytes.
    socket.received(Buffer.from([9, 1, 2, 3, 9]).subarray(1, 4));
    expect(events).toEqual(["open", 'text:{"type":"connection_info"}', "bytes:1,2,3"]);
    socket.send("hello");
    socket.send(new Uint8Array([4, 5]).buffer);
    expect(sent.slice(1).map((s) => s.message)).toEqual([{ t: "sock_send", s: 1, text: "hello" }, { t: "sock_send", s: 1 }]);
    expect([...sent[2]!.blobs![0]!]).toEqual([4, 5]);
  });

  it("reports the code it closed with, and the app's code when the app's socket closed", () => {
    const { link, sent, sockets } = recordingLink();
    const mine = new TunnelSocket(link, Fallback, false, "ws://h/ws");
    mine.opened();
    const closes: unknown[] = [];
    mine.onclose = (event) => closes.push(event);
    mine.close(1000, "bye");
    expect(mine.readyState).toBe(TunnelSocket.CLOSING);
    expect(sent.at(-1)!.message).toEqual({ t: "sock_close", s: 1, code: 1000, reason: "bye" });
    mine.closed(1006, "the connection was lost");
    expect(closes).toEqual([{ type: "close", code: 1000, reason: "bye", wasClean: true }]);
    expect(sockets.size).toBe(0);

    const theirs = new TunnelSocket(link, Fallback, false, "ws://h/ws");
    theirs.opened();
    theirs.onclose = (event) => closes.push(event);
    theirs.closed(1012, "server restart");
    expect(theirs.readyState).toBe(TunnelSocket.CLOSED);
    expect(closes[1]).toEqual({ type: "close", code: 1012, reason: "server restart", wasClean: true });
  });

  it("falls back to the worker's own socket class when the app cannot open the socket", () => {
    FakeWs.made = [];
    const { link, fallbacks, sockets } = recordingLink();
    const socket = new TunnelSocket(link, Fallback, false, "wss://hypha.example/ws");
    const seen: string[] = [];
    socket.onopen = () => seen.push("open");
    socket.onmessage = (event) => seen.push(String((event as { data: unknown }).data));
    socket.refused("SSLCertVerificationError: self-signed certificate");
    expect(fallbacks).toEqual(["SSLCertVerificationError: self-signed certificate"]);
    expect(sockets.size).toBe(0);
    const inner = FakeWs.made[0]!;
    expect(inner.address).toBe("wss://hypha.example/ws");
    expect(inner.binaryType).toBe("arraybuffer");
    inner.readyState = 1;
    inner.onopen!({});
    inner.onmessage!({ data: "pong" });
    expect(socket.readyState).toBe(1);
    expect(socket.tunnelled).toBe(false);
    socket.send("x");
    expect(inner.sent).toEqual(["x"]);
    expect(seen).toEqual(["open", "pong"]);
    const errors: Error[] = [];
    socket.on("error", (e: Error) => errors.push(e));
    inner.emit("error", new Error("ECONNRESET"));
    expect(errors.map((e) => e.message)).toEqual(["ECONNRESET"]);
  });

  it("fails like a refused connection when the app's socket closes before it opened", () => {
    const { link } = recordingLink();
    const socket = new TunnelSocket(link, Fallback, false, "ws://h/ws");
    const seen: string[] = [];
    socket.onerror = (event) => seen.push(`onerror:${String(event)}`);
    socket.onclose = (event) => seen.push(`close:${(event as { code: number }).code}`);
    socket.closed(1006, "the app's process ended");
    expect(seen).toEqual(["onerror:the app's process ended", "close:1006"]);
  });

  it("fails like a refused connection when the app's process is gone", async () => {
    const { link } = recordingLink(false);
    const socket = new TunnelSocket(link, Fallback, false, "ws://h/ws");
    const seen: string[] = [];
    socket.on("error", (e: Error) => seen.push(`error:${e.message}`));
    socket.onerror = (event) => seen.push(`onerror:${String(event)}`);
    socket.onclose = (event) => seen.push(`close:${(event as { code: number }).code}`);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(seen).toEqual([
      "error:the app's process is no longer running; its connection to Hypha is gone",
      "onerror:the app's process is no longer running; its connection to Hypha is gone",
      "close:1006",
    ]);
    expect(socket.readyState).toBe(TunnelSocket.CLOSED);
  });
});

describe("HYPHA_CONDA_APP_SOCKET", () => {
  it("lets the app hold its socket by default and on 'app', keeps it in the worker on 'worker', refuses anything else", async () => {
    const { appSocketFromEnv } = await import("../../../src/bridge/socket/app-socket.js");
    expect(appSocketFromEnv({})).toBe(true);
    expect(appSocketFromEnv({ HYPHA_CONDA_APP_SOCKET: "app" })).toBe(true);
    expect(appSocketFromEnv({ HYPHA_CONDA_APP_SOCKET: " Worker " })).toBe(false);
    expect(() => appSocketFromEnv({ HYPHA_CONDA_APP_SOCKET: "python" })).toThrow(/HYPHA_CONDA_APP_SOCKET="python" is not valid; use "app" .* or "worker"/);
  });
});
