/**
 * A WebSocket for hypha-rpc whose bytes travel over the bridge to the app's Python, which holds the real
 * socket to Hypha (src/bridge/python/lib/hypha_bridge/socket/). It implements what hypha-rpc's
 * websocket-client uses (readyState, binaryType, on* handlers, send, close) plus `on` for the worker's
 * error recording. When the app cannot open the socket (TLS it cannot verify, a refused upgrade) it
 * falls back to a socket of the worker's own (`fallback`), so the app connects as it always did.
 */
import { EventEmitter } from "node:events";
import type WebSocket from "ws";

export type WebSocketClass = new (address: string | URL, protocols?: string | string[], options?: WebSocket.ClientOptions) => WebSocket;

export interface TunnelLink {
  /** Sends a bridge message to the app; false when the bridge is closed. */
  send(message: Record<string, unknown>, blobs?: Uint8Array[]): boolean;
  register(id: number, socket: TunnelSocket): void;
  unregister(id: number): void;
  nextId(): number;
  /** Called once when the app could not open its socket and the worker's own carries the connection. */
  onFallback(reason: string): void;
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

type Handler = ((event: unknown) => void) | null;

function toBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new TypeError("the app's socket sends strings and bytes only");
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength) return bytes.buffer as ArrayBuffer;
  // Uint8Array's slice copies (a Buffer's slice would be a view into Node's shared pool).
  return Uint8Array.prototype.slice.call(bytes).buffer as ArrayBuffer;
}

export class TunnelSocket extends EventEmitter {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSING = CLOSING;
  static readonly CLOSED = CLOSED;
  binaryType = "arraybuffer";
  onopen: Handler = null;
  onmessage: Handler = null;
  onclose: Handler = null;
  onerror: Handler = null;
  private state = CONNECTING;
  private inner?: WebSocket;
  private closeAsked?: { code: number; reason: string };
  private readonly id: number;

  constructor(
    private readonly link: TunnelLink,
    private readonly fallback: WebSocketClass,
    insecure: boolean,
    private readonly address: string | URL,
    private readonly protocols?: string | string[],
    private readonly options?: WebSocket.ClientOptions,
  ) {
    super();
    this.id = link.nextId();
    link.register(this.id, this);
    if (!link.send({ t: "sock_open", s: this.id, url: String(address), insecure })) {
      queueMicrotask(() => this.fail(new Error("the app's process is no longer running; its connection to Hypha is gone")));
    }
  }

  get readyState(): number {
    return this.inner ? this.inner.readyState : this.state;
  }

  /** Whether this socket's traffic goes through the app (false once it fell back to the worker's own). */
  get tunnelled(): boolean {
    return !this.inner;
  }

  send(data: unknown): void {
    if (this.inner) return this.inner.send(data as Buffer);
    if (this.state !== OPEN) throw new Error(`WebSocket is not open: readyState ${this.state}`);
    const sent = typeof data === "string"
      ? this.link.send({ t: "sock_send", s: this.id, text: data })
      : this.link.send({ t: "sock_send", s: this.id }, [toBytes(data)]);
    if (!sent) this.closed(1006, "the app's process ended");
  }

  close(code = 1000, reason = ""): void {
    if (this.inner) return this.inner.close(code, reason);
    if (this.state === CLOSING || this.state === CLOSED) return;
    this.closeAsked = { code, reason };
    const wasConnecting = this.state === CONNECTING;
    this.state = CLOSING;
    if (!this.link.send({ t: "sock_close", s: this.id, code, reason }) || wasConnecting) this.closed(code, reason);
  }

  // ---- from the app ------------------------------------------------------------------------------
  opened(): void {
    if (this.state !== CONNECTING) return;
    this.state = OPEN;
    this.onopen?.({ type: "open" });
    this.emit("open");
  }

  /** The app could not open the socket: carry the connection on a socket of the worker's own. */
  refused(reason: string): void {
    if (this.state !== CONNECTING) return;
    this.link.unregister(this.id);
    this.link.onFallback(reason);
    const inner = new this.fallback(this.address, this.protocols, this.options);
    this.inner = inner;
    inner.binaryType = "arraybuffer";
    inner.onopen = (event) => this.onopen?.(event);
    inner.onmessage = (event) => this.onmessage?.(event);
    inner.onclose = (event) => this.onclose?.(event);
    inner.onerror = (event) => this.onerror?.(event);
    inner.on("error", (error: Error) => this.report(error));
  }

  received(data: string | Uint8Array): void {
    if (this.state !== OPEN) return;
    this.onmessage?.({ type: "message", data: typeof data === "string" ? data : toArrayBuffer(data) });
  }

  closed(code: number, reason: string): void {
    if (this.inner || this.state === CLOSED) return;
    // A socket that never opened failed to connect: hypha-rpc (like `ws`) learns that from an error first.
    if (this.state === CONNECTING && !this.closeAsked) return this.fail(new Error(reason || "the connection closed before it opened"));
    this.link.unregister(this.id);
    const asked = this.closeAsked;
    this.state = CLOSED;
    const closeCode = asked?.code ?? code;
    const event = { type: "close", code: closeCode, reason: asked?.reason ?? reason, wasClean: closeCode !== 1006 };
    this.onclose?.(event);
    this.emit("close", event.code, event.reason);
  }

  private report(error: Error): void {
    if (this.listenerCount("error") > 0) this.emit("error", error);
  }

  private fail(error: Error): void {
    if (this.state !== CONNECTING) return;
    this.closeAsked = { code: 1006, reason: error.message };
    this.report(error);
    this.onerror?.({ type: "error", message: error.message, toString: () => error.message });
    this.closed(1006, error.message);
  }
}
