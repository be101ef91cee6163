/**
 * The app's own socket to Hypha, worker side: hands hypha-rpc a WebSocket class whose bytes the app's
 * Python carries (tunnel-socket.ts), tells the app which of its functions it may answer itself (the
 * fast table), and settles through hypha-rpc the calls the app answered with something it does not
 * encode itself (errors, functions, arrays, large results). See docs/bridge.md, "The app's own socket".
 */
import { decodeMulti } from "@msgpack/msgpack";
import { BridgeError, describeError } from "../../errors.js";
import type { HyphaServer } from "../../hypha/connect.js";
import { fireAssembled, serviceFunctions, settleCallWithRpc } from "../../hypha/rpc-internals.js";
import { pythonError, type PythonError, type PythonFunctions } from "../python-functions.js";
import type { WireMessage } from "../wire.js";
import { TunnelSocket, type TunnelLink, type WebSocketClass } from "./tunnel-socket.js";

export interface AppSocketDeps {
  send(message: WireMessage, blobs?: Uint8Array[]): boolean;
  /** The app's Hypha connection, once one is being made. */
  server(): Promise<HyphaServer> | undefined;
  fns: PythonFunctions;
  log(level: "info" | "error", line: string): void;
}

/**
 * `HYPHA_CONDA_APP_SOCKET`: "app" (the default) lets the app's Python hold its socket to Hypha; "worker"
 * keeps it in the worker (every byte through the bridge, as before 0.2).
 */
export function appSocketFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env.HYPHA_CONDA_APP_SOCKET?.trim().toLowerCase();
  if (!value || value === "app") return true;
  if (value === "worker") return false;
  throw new BridgeError("E_CONFIG", `HYPHA_CONDA_APP_SOCKET=${JSON.stringify(env.HYPHA_CONDA_APP_SOCKET)} is not valid; use "app" (the app holds its own socket to Hypha, the default) or "worker"`);
}

/** Counters kept by the app: calls it answered itself, and messages it passed on to the worker. */
export interface AppSocketStats { fast: number; forwarded: number }

/** Builds hypha-rpc's WebSocketClass for one connection: `fallback` is the worker's own socket class. */
export type SocketTransport = (fallback: WebSocketClass, insecure: boolean) => WebSocketClass;

export class AppSocket {
  private readonly sockets = new Map<number, TunnelSocket>();
  private readonly paths = new Map<string, string[]>();
  private counter = 0;
  private fellBack = false;
  private readonly link: TunnelLink;

  constructor(private readonly deps: AppSocketDeps) {
    this.link = {
      send: (message, blobs) => deps.send(message as WireMessage, blobs),
      register: (id, socket) => this.sockets.set(id, socket),
      unregister: (id) => this.sockets.delete(id),
      nextId: () => ++this.counter,
      onFallback: (reason) => {
        if (this.fellBack) return;
        this.fellBack = true;
        deps.log("info", `bridge: the app could not open its own socket to Hypha (${reason}); the worker's socket carries its connection`);
      },
    };
  }

  readonly transport: SocketTransport = (fallback, insecure) => {
    const link = this.link;
    return class AppTunnelSocket extends TunnelSocket {
      constructor(address: string | URL, protocols?: string | string[], options?: Record<string, unknown>) {
        super(link, fallback, insecure, address, protocols, options);
      }
    } as unknown as WebSocketClass;
  };

  /** Whether a socket of the app carries the connection now. */
  get carrying(): boolean {
    return [...this.sockets.values()].some((socket) => socket.tunnelled && socket.readyState === TunnelSocket.OPEN);
  }

  /** Handles a sock_* message from the app; false for any other message. */
  handle(message: WireMessage, blobs: Uint8Array[]): boolean {
    const socket = this.sockets.get(Number(message.s));
    switch (message.t) {
      case "sock_opened":
        socket?.opened();
        return true;
      case "sock_error":
        socket?.refused(String(message.message ?? "unknown error"));
        return true;
      case "sock_msg":
        socket?.received(typeof message.text === "string" ? message.text : blobs[0] ?? new Uint8Array(0));
        return true;
      case "sock_closed":
        socket?.closed(Number(message.code) || 1006, String(message.reason ?? ""));
        return true;
      case "sock_settle":
        this.settle(message, blobs);
        return true;
      case "sock_fire":
        this.fire(message, blobs[0]);
        return true;
      default:
        return false;
    }
  }

  /** Tells the app which functions of service `serviceId` (short id) it may answer on its socket. */
  publish(server: HyphaServer, serviceId: string): void {
    const set: Record<string, { fn: string; context: boolean; protected: boolean }> = {};
    for (const entry of serviceFunctions(server, serviceId)) {
      const proxy = entry.trusted ? undefined : this.deps.fns.describeProxy(entry.fn);
      if (proxy) set[entry.path] = { fn: proxy.id, context: proxy.takesContext && entry.requireContext, protected: entry.visibility === "protected" };
    }
    const drop = (this.paths.get(serviceId) ?? []).filter((path) => !(path in set));
    this.paths.set(serviceId, Object.keys(set));
    this.deps.send({ t: "fast_table", set, drop });
  }

  withdraw(serviceId: string): void {
    const drop = this.paths.get(serviceId) ?? [];
    this.paths.delete(serviceId);
    if (drop.length > 0) this.deps.send({ t: "fast_table", set: {}, drop });
  }

  /** The app's process is gone: its sockets are closed. */
  closeAll(reason: string): void {
    for (const socket of [...this.sockets.values()]) socket.closed(1006, reason);
  }

  /** A message the app assembled from message_cache pieces but does not answer itself: into hypha-rpc. */
  private fire(message: WireMessage, raw: Uint8Array | undefined): void {
    const server = this.deps.server();
    if (!raw || !server) return;
    server
      .then((connection) => fireAssembled(connection, raw, (message.trusted ?? {}) as Record<string, unknown>))
      .catch((error: unknown) => this.deps.log("error", `bridge: could not handle a large message for the app: ${describeError(error)}`));
  }

  private settle(message: WireMessage, blobs: Uint8Array[]): void {
    const raw = blobs[Number(message.raw)];
    const server = this.deps.server();
    if (!raw || !server) return;
    let data: Record<string, unknown> = {};
    let kind: "resolve" | "reject" = message.kind === "reject" ? "reject" : "resolve";
    let value: unknown;
    try {
      for (const part of decodeMulti(raw)) if (part && typeof part === "object") data = { ...data, ...(part as Record<string, unknown>) };
      if (message.trusted && typeof message.trusted === "object") data = { ...data, ...(message.trusted as Record<string, unknown>) };
      value = kind === "resolve" ? this.deps.fns.codec.decode(message.v, blobs) : pythonError(message.v as PythonError);
    } catch (error) {
      kind = "reject";
      value = error;
    }
    server
      .then((connection) => settleCallWithRpc(connection, data, kind, value))
      .catch((error: unknown) => this.deps.log("error", `bridge: could not send the reply of ${String(data.method)}: ${describeError(error)}`));
  }
}
