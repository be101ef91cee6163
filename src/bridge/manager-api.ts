/**
 * The app's view of the workspace manager: every remote method of the manager on the app's own Hypha
 * connection, offered to Python under upstream's name, and hypha-rpc's client events (on/off/emit)
 * carried over the bridge.
 */
import { BridgeError } from "../errors.js";
import type { HyphaServer } from "../hypha/connect.js";

type AnyFunction = (...args: unknown[]) => unknown;
interface RemoteMethodInfo { _rname?: unknown; _rmethod?: unknown }

/**
 * The workspace manager's methods on a hypha-rpc connection, keyed by their name on the server.
 * One rule: a function that carries hypha-rpc's `__rpc_object__` is a remote method of the manager
 * (helpers that hypha-rpc implements on the client, such as registerService or on, carry none).
 */
export function managerMethods(server: HyphaServer): Record<string, AnyFunction> {
  const methods: Record<string, AnyFunction> = {};
  for (const value of Object.values(server)) {
    if (typeof value !== "function") continue;
    const info = (value as { __rpc_object__?: RemoteMethodInfo }).__rpc_object__;
    if (!info) continue;
    const name = typeof info._rname === "string" ? info._rname : String(info._rmethod ?? "").split(".").pop();
    if (name) methods[name] = value as AnyFunction;
  }
  return methods;
}

/** Forwards hypha-rpc events of one connection to the app: one listener per event name the app listens to. */
export class AppEvents {
  private readonly listeners = new Map<string, AnyFunction>();

  constructor(private readonly forward: (event: string, data: unknown) => void) {}

  listen(server: HyphaServer, event: string): void {
    checkEventName(event);
    if (this.listeners.has(event)) return;
    const listener = (data: unknown) => this.forward(event, data);
    this.listeners.set(event, listener);
    eventsOf(server).on(event, listener);
  }

  unlisten(server: HyphaServer, event: string): void {
    const listener = this.listeners.get(event);
    if (!listener) return;
    this.listeners.delete(event);
    eventsOf(server).off(event, listener);
  }

  /** hypha-rpc's emit: a message with a `to` goes to the server (`"*"`: the workspace's subscribers). */
  async emit(server: HyphaServer, message: unknown): Promise<void> {
    if (!message || typeof message !== "object" || Array.isArray(message) || typeof (message as { type?: unknown }).type !== "string") {
      throw new BridgeError("E_BRIDGE", 'emit: the message must be a dict with a "type", e.g. {"type": "my-event", "to": "*", "data": ...}');
    }
    await eventsOf(server).emit(message);
  }

  /** The app's listen/unlisten/emit requests; `connection` is undefined in local mode. */
  async handle(kind: "listen" | "unlisten" | "emit", connection: Promise<HyphaServer> | undefined, event: unknown, message: unknown): Promise<null> {
    if (!connection) {
      // No server events in local mode; the app's own emit() without "to" still reaches its handlers.
      if (kind === "emit") throw new BridgeError("E_BRIDGE", 'emit: no Hypha server in local mode; a message without "to" reaches the app\'s own handlers only');
      return null;
    }
    const server = await connection;
    if (kind === "listen") this.listen(server, event as string);
    else if (kind === "unlisten") this.unlisten(server, String(event));
    else await this.emit(server, message);
    return null;
  }

  clear(): void {
    this.listeners.clear();
  }
}

function checkEventName(event: unknown): asserts event is string {
  if (typeof event !== "string" || event.length === 0) throw new BridgeError("E_BRIDGE", `on: the event name must be a non-empty string, got ${JSON.stringify(event)}`);
}

interface EventApi {
  on(event: string, handler: AnyFunction): void;
  off(event: string, handler: AnyFunction): void;
  emit(message: unknown): Promise<unknown> | unknown;
}

function eventsOf(server: HyphaServer): EventApi {
  const api = server as unknown as Partial<EventApi>;
  if (typeof api.on !== "function" || typeof api.off !== "function" || typeof api.emit !== "function") {
    throw new BridgeError("E_BRIDGE", "the worker's hypha-rpc connection has no on/off/emit; events need hypha-rpc >= 0.20");
  }
  return api as EventApi;
}
