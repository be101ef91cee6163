/**
 * The parts of hypha-rpc 0.21.40's RPC object (internals, pinned) the worker uses to answer calls on its
 * behalf: the fast call path (fast-calls.ts), and the app's own socket (src/bridge/socket/), which answers
 * some calls in the app and hands the rest, or their replies, back to hypha-rpc here.
 */
import { decodeMulti } from "@msgpack/msgpack";
import type { HyphaServer } from "./connect.js";

export interface Annotation { visibility?: string; require_context?: unknown; trusted_keys?: unknown }
export interface MethodMessage {
  method?: unknown; from?: unknown; to?: unknown; session?: unknown; parent?: unknown; promise?: unknown;
  args?: unknown; with_kwargs?: unknown; t?: unknown; ctx?: Record<string, unknown>; _enc?: unknown;
}
export type Handler = (data: unknown) => unknown;
export interface RpcInternals {
  _event_handlers?: Record<string, Handler[]>;
  _boundHandleMethod?: Handler;
  _object_store?: Record<string, unknown>;
  _method_annotations?: Map<unknown, Annotation>;
  _local_workspace?: string | null;
  _client_id?: string;
  _long_message_chunk_size?: number;
  _emit_message?: (data: Uint8Array) => Promise<unknown>;
  _expand_promise?: (data: unknown) => unknown;
  _decode?: (value: unknown, remoteParent: unknown, localParent: unknown, remoteWs: string, localWs: string) => Promise<unknown>;
}

export const REQUIRED = ["_event_handlers", "_boundHandleMethod", "_object_store", "_method_annotations", "_emit_message", "_expand_promise", "_decode"] as const;

export function lookup(store: Record<string, unknown>, path: string): unknown {
  let value: unknown = store;
  for (const key of path.split(".")) {
    if (!value || typeof value !== "object" || !Object.prototype.hasOwnProperty.call(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

// hypha-rpc's own way to answer, for what the fast path does not encode itself.
/**
 * The workspaces of a call as hypha-rpc's `_handle_method` reads them: the caller's (from `from`), the
 * absolute target (`to` without a workspace is in the caller's), and the one the call is handled in.
 */
export function callWorkspaces(rpc: RpcInternals, from: string, to: string): { remoteWs: string; remoteClient: string | undefined; to: string; toWs: string; localWs: string } {
  const [remoteWs = "", remoteClient] = from.split("/");
  const target = to.includes("/") ? to : `${remoteWs}/${to}`;
  const toWs = target.split("/")[0]!;
  return { remoteWs, remoteClient, to: target, toWs, localWs: rpc._local_workspace || toWs };
}

export async function settleWithRpc(rpc: RpcInternals, data: MethodMessage, remoteWs: string, localWs: string, kind: "resolve" | "reject", value: unknown): Promise<void> {
  const promise = (await rpc._decode!(rpc._expand_promise!(data), data.session, data.parent, remoteWs, localWs)) as Record<string, (v: unknown) => Promise<unknown>>;
  await promise[kind]!(value);
}

/**
 * Answers call `data` (a decoded hypha-rpc method message that was answered elsewhere, e.g. by the app's
 * own socket) through `server`'s hypha-rpc: `kind` with `value`, as its promise callbacks would.
 */
export async function settleCallWithRpc(server: HyphaServer, data: Record<string, unknown>, kind: "resolve" | "reject", value: unknown): Promise<void> {
  const rpc = (server as { rpc?: RpcInternals }).rpc;
  if (!rpc || REQUIRED.some((key) => !rpc[key])) throw new Error("this hypha-rpc lacks the internals to answer a call on its behalf");
  const message = data as MethodMessage;
  if (!message.promise) return;
  const { remoteWs, localWs } = callWorkspaces(rpc, String(message.from ?? ""), String(message.to ?? ""));
  await settleWithRpc(rpc, message, remoteWs, localWs, kind, value);
}

/**
 * Hands hypha-rpc a message assembled from message_cache pieces elsewhere, as its `_process_message`
 * does: the server's trusted from/to/ws/user replace the sender's, `ctx` is the main part plus the
 * connection's default context, then the extra part is merged and the message fired.
 */
export function fireAssembled(server: HyphaServer, raw: Uint8Array, trusted: Record<string, unknown>): void {
  const rpc = (server as { rpc?: RpcInternals & { _fire?: (type: unknown, main: unknown) => void; default_context?: Record<string, unknown> } }).rpc;
  if (!rpc?._fire) throw new Error("this hypha-rpc lacks the internals to take a message assembled elsewhere");
  const parts = [...decodeMulti(raw)] as Array<Record<string, unknown>>;
  const main = parts[0];
  if (!main || typeof main !== "object") throw new Error("the assembled message has no main part");
  Object.assign(main, { from: trusted.from, to: trusted.to, ws: trusted.ws, user: trusted.user });
  main.ctx = Object.assign(JSON.parse(JSON.stringify(main)) as Record<string, unknown>, rpc.default_context ?? {});
  if (parts[1] && typeof parts[1] === "object") Object.assign(main, parts[1]);
  rpc._fire(main.type, main);
}

/** Each function path (`services.<id>.<fn…>`) of registered service `serviceId` with its hypha-rpc annotation. */
export function serviceFunctions(server: HyphaServer, serviceId: string): Array<{ path: string; fn: (...args: unknown[]) => unknown; visibility?: string; requireContext: boolean; trusted: boolean }> {
  const rpc = (server as { rpc?: RpcInternals }).rpc;
  const service = rpc?._object_store ? lookup(rpc._object_store, `services.${serviceId}`) : undefined;
  const found: Array<{ path: string; fn: (...args: unknown[]) => unknown; visibility?: string; requireContext: boolean; trusted: boolean }> = [];
  const walk = (value: unknown, path: string, depth: number) => {
    if (!value || typeof value !== "object" || depth > 8) return;
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      if (key.includes(".")) continue; // not addressable as a method path
      if (typeof item === "function") {
        const annotation = rpc?._method_annotations?.get(item);
        if (annotation) found.push({ path: `${path}.${key}`, fn: item as (...args: unknown[]) => unknown, visibility: annotation.visibility, requireContext: Boolean(annotation.require_context), trusted: Boolean(annotation.trusted_keys) });
      } else if (key !== "config") walk(item, `${path}.${key}`, depth + 1);
    }
  };
  walk(service, `services.${serviceId}`, 0);
  return found;
}

