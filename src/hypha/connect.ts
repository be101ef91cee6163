/** Connecting to a Hypha server from Node 20, where hypha-rpc needs a global WebSocket. */
import WebSocket from "ws";
import { maskOptionsFor } from "./frame-mask.js";
import { hyphaWebsocketClient } from "hypha-rpc";

/** Installs `ws` as globalThis.WebSocket when the runtime has none (Node 20). */
export function ensureGlobalWebSocket(): void {
  const g = globalThis as { WebSocket?: unknown };
  g.WebSocket ??= WebSocket;
}

export interface HyphaConnectOptions {
  server_url: string;
  token?: string;
  workspace?: string;
  client_id?: string;
  method_timeout?: number;
  ssl?: false;
  [key: string]: unknown;
}

/** The parts of hypha-rpc's server object this project uses. */
export interface HyphaServer {
  config: { workspace: string; client_id: string; public_base_url?: string; [key: string]: unknown };
  registerService(service: Record<string, unknown>, config?: Record<string, unknown>): Promise<{ id: string; [key: string]: unknown }>;
  unregisterService(id: string): Promise<void>;
  getService(id: string, config?: Record<string, unknown>): Promise<Record<string, unknown>>;
  listServices(query?: unknown): Promise<Array<Record<string, unknown>>>;
  disconnect(): Promise<void>;
  on?(event: string, handler: (...args: unknown[]) => void): void;
  [key: string]: unknown;
}

/** Connects with hypha-rpc's WebSocket client; `logger: null` keeps hypha-rpc quiet. */
export async function connectToHypha(options: HyphaConnectOptions): Promise<HyphaServer> {
  ensureGlobalWebSocket();
  const transport: { error?: Error } = {};
  const base = (options.WebSocketClass ?? WebSocket) as typeof WebSocket;
  const config = { logger: null, ...options, WebSocketClass: recordingWebSocket(base, transport) };
  let server: unknown;
  try {
    server = await hyphaWebsocketClient.connectToServer(config as unknown as Parameters<typeof hyphaWebsocketClient.connectToServer>[0]);
  } catch (error) {
    throw withTransportDetail(error, transport.error);
  }
  guardMessageHandler(server as unknown as HyphaServer);
  guardRejectionHandler(server as unknown as HyphaServer);
  watchStalledReconnect(server as unknown as HyphaServer);
  return server as unknown as HyphaServer;
}

/**
 * hypha-rpc reports a socket that failed to open as "WebSocket connection error: [object Object]"; the
 * class it is given records the `ws` error (ECONNREFUSED, ENOTFOUND, "Unexpected server response: 404",
 * certificate codes) so the failure says what happened and can be told permanent from temporary.
 */
function recordingWebSocket(base: typeof WebSocket, transport: { error?: Error }): unknown {
  return class RecordingWebSocket extends base {
    constructor(address: string | URL, protocols?: string | string[], options?: WebSocket.ClientOptions) {
      super(address, protocols, { ...maskOptionsFor(address), ...options });
      this.on("error", (error: Error) => (transport.error = error));
    }
  };
}

function withTransportDetail(error: unknown, transportError: Error | undefined): unknown {
  if (!transportError || !(error instanceof Error) || !error.message.startsWith("WebSocket connection error")) return error;
  return new Error(`WebSocket connection error: ${transportError.message}`, { cause: transportError });
}

interface ReconnectState {
  _closed?: boolean;
  _reconnecting?: boolean;
  _websocket?: { readyState: number } | null;
  _reconnect_timeouts?: Set<unknown>;
  _handle_close?: (event: { code: number; reason: string }) => void;
}

/** How often a connection is checked for a stalled reconnect loop; it is restarted after two checks in a row. */
const RECONNECT_WATCH_MS = 5_000;

/**
 * hypha-rpc 0.21.40 can stall its reconnect loop for good: a send during the outage opens a socket of its
 * own, whose failure clears the loop's pending retry timer (`_cleanup()`), leaving `_reconnecting` set, the
 * socket closed and nothing scheduled; every later close event is ignored, so the client (an app's
 * services, or the worker itself) stays offline. Seen for 1 of 3 bridged apps in about one server restart
 * of three under load. A connection found like that twice in a row has its loop started again.
 */
function watchStalledReconnect(server: HyphaServer): void {
  const connection = (server as { rpc?: { _connection?: ReconnectState } }).rpc?._connection;
  if (!connection || typeof connection._handle_close !== "function") return;
  let suspect = false;
  const timer = setInterval(() => {
    if (connection._closed) return clearInterval(timer);
    const socket = connection._websocket;
    const stalled = connection._reconnecting === true && (connection._reconnect_timeouts?.size ?? 0) === 0 && socket?.readyState === 3;
    if (!stalled) {
      suspect = false;
      return;
    }
    if (!suspect) {
      suspect = true;
      return;
    }
    suspect = false;
    connection._reconnecting = false;
    connection._handle_close!({ code: 1001, reason: "reconnect loop stalled; starting it again" });
  }, RECONNECT_WATCH_MS);
  timer.unref();
}

/**
 * hypha-rpc 0.21.40: the first connection of a process installs a process-wide `unhandledRejection`
 * listener that calls its own handler, which it sets to null when that connection closes while others
 * live on (the worker's connection rebuilt, an app's connection closed). The next unhandled rejection
 * then throws a TypeError from inside the listener: an uncaught exception that ends the worker. Swap in
 * a listener that does nothing once its connection is gone.
 */
function guardRejectionHandler(server: HyphaServer): void {
  const rpc = (server as { rpc?: { _unhandledRejectionHandler?: unknown; _unhandledRejectionNodeHandler?: unknown } }).rpc;
  const original = rpc?._unhandledRejectionNodeHandler;
  if (!rpc || typeof original !== "function") return;
  const safe = (reason: unknown, promise: unknown) => {
    if (typeof rpc._unhandledRejectionHandler !== "function") return;
    (original as (reason: unknown, promise: unknown) => void)(reason, promise);
  };
  process.removeListener("unhandledRejection", original as (...args: unknown[]) => void);
  process.on("unhandledRejection", safe);
  rpc._unhandledRejectionNodeHandler = safe;
}

/**
 * A frame hypha-rpc cannot decode (any caller can send one: its msgpack refuses a `__proto__` key) throws
 * inside the WebSocket's message listener, which stalls the socket for good and is an uncaught exception
 * that ends the process. Drop such a frame instead; the connection keeps serving everyone else.
 */
function guardMessageHandler(server: HyphaServer): void {
  const connection = (server as { rpc?: { _connection?: { _handle_message?: unknown } } }).rpc?._connection;
  const handle = connection?._handle_message;
  if (!connection || typeof handle !== "function") return;
  connection._handle_message = (data: unknown) => {
    try {
      (handle as (data: unknown) => void).call(connection, data);
    } catch {
      // Undecodable or rejected frame from a peer: nothing to answer (its sender cannot be trusted to be named).
    }
  };
}
