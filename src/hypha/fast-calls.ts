/**
 * A short path for calls to an app's bridged functions: hypha-rpc's own handling of a call (decoding the
 * promise into callback functions, a session store per call and per reply, a heartbeat interval, the
 * result's re-encoding through its generic encoder) was most of the worker's share of a call. For a call
 * whose arguments and result are plain data, the worker answers with the same two wire messages that
 * hypha-rpc would send (`<session>.resolve` to the caller, with `parent`), and heartbeats while it runs.
 * Anything else (callbacks, encoded objects, encryption, protected services called from elsewhere,
 * replies that need chunking, errors) goes through hypha-rpc unchanged, so the wire stays hypha-rpc's.
 * Written against hypha-rpc 0.21.40 (pinned); see docs/bridge.md, "Fast calls".
 */
import { decodeMulti, encode } from "@msgpack/msgpack";
import { describeError } from "../errors.js";
import type { HyphaServer } from "./connect.js";
import { isWirePlain } from "./wire-plain.js";

/**
 * Calls `fn` with positional `args`, keyword `kwargs` and, for require_context functions, hypha-rpc's
 * context; undefined when `fn` is not one the fast path may answer (then hypha-rpc handles the call).
 */
export type FastCaller = (
  fn: (...args: unknown[]) => unknown,
  args: unknown[],
  kwargs: Record<string, unknown> | undefined,
  context: Record<string, unknown> | undefined,
) => Promise<unknown> | undefined;

export interface FastCallStats {
  /** Calls answered by the fast path. */
  fast: number;
  /** Calls handed to hypha-rpc at arrival (not eligible). */
  delegated: number;
  /** Fast calls whose reply went through hypha-rpc (error, large or non-plain result). */
  slowReplies: number;
}

interface Annotation { visibility?: string; require_context?: unknown; trusted_keys?: unknown }
interface MethodMessage {
  method?: unknown; from?: unknown; to?: unknown; session?: unknown; parent?: unknown; promise?: unknown;
  args?: unknown; with_kwargs?: unknown; t?: unknown; ctx?: Record<string, unknown>; _enc?: unknown;
}
type Handler = (data: unknown) => unknown;
interface RpcInternals {
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

const REQUIRED = ["_event_handlers", "_boundHandleMethod", "_object_store", "_method_annotations", "_emit_message", "_expand_promise", "_decode"] as const;

function lookup(store: Record<string, unknown>, path: string): unknown {
  let value: unknown = store;
  for (const key of path.split(".")) {
    if (!value || typeof value !== "object" || !Object.prototype.hasOwnProperty.call(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function pack(main: Record<string, unknown>, extra: Record<string, unknown>): Uint8Array {
  const head = encode(main);
  const tail = encode(extra);
  const out = new Uint8Array(head.length + tail.length);
  out.set(head);
  out.set(tail, head.length);
  return out;
}

// hypha-rpc's own way to answer, for what the fast path does not encode itself.
async function settleWithRpc(rpc: RpcInternals, data: MethodMessage, remoteWs: string, localWs: string, kind: "resolve" | "reject", value: unknown): Promise<void> {
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
  const remoteWs = typeof message.from === "string" ? message.from.split("/")[0]! : "";
  const to = typeof message.to === "string" ? (message.to.includes("/") ? message.to : `${remoteWs}/${message.to}`) : "";
  const ownWs = rpc._local_workspace;
  await settleWithRpc(rpc, message, remoteWs, ownWs || to.split("/")[0]!, kind, value);
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

/**
 * Installs the fast path on `server`'s hypha-rpc instance, in place of its "method" handler (so its place
 * among other handlers stays the same). Returns the counters, or undefined when this hypha-rpc lacks the
 * internals it needs (then nothing changes).
 */
export function installFastCalls(server: HyphaServer, callFast: FastCaller, onError: (message: string) => void = () => {}): FastCallStats | undefined {
  const rpc = (server as { rpc?: RpcInternals }).rpc;
  if (!rpc || REQUIRED.some((key) => !rpc[key])) return undefined;
  const handlers = rpc._event_handlers!.method;
  const original = rpc._boundHandleMethod!;
  const index = handlers?.indexOf(original) ?? -1;
  if (!handlers || index < 0) return undefined;
  const stats: FastCallStats = { fast: 0, delegated: 0, slowReplies: 0 };
  const me = () => (rpc._local_workspace ? `${rpc._local_workspace}/${rpc._client_id}` : String(rpc._client_id));
  const failed = (what: string) => (error: unknown) => onError(`${what}: ${describeError(error)}`);
  const emit = (main: Record<string, unknown>, extra: Record<string, unknown>) =>
    rpc._emit_message!(pack(main, extra)).catch(failed(`could not send ${String(main.method)}`));

  const settleSlowly = (data: MethodMessage, remoteWs: string, localWs: string, kind: "resolve" | "reject", value: unknown) => {
    stats.slowReplies += 1;
    return settleWithRpc(rpc, data, remoteWs, localWs, kind, value);
  };

  const tryFast = (raw: unknown): boolean => {
    const data = raw as MethodMessage;
    if (!data || typeof data.method !== "string" || !data.method.startsWith("services.") || data._enc !== undefined) return false;
    if (data.promise !== undefined && data.promise !== "*") return false;
    if (typeof data.from !== "string" || typeof data.to !== "string" || !data.ctx || (data.promise && typeof data.session !== "string")) return false;
    const [remoteWs = "", remoteClient] = data.from.split("/");
    if (!remoteClient) return false;
    const to = data.to.includes("/") ? data.to : `${remoteWs}/${data.to}`;
    const toWs = to.split("/")[0]!;
    const ownWs = rpc._local_workspace;
    if (ownWs && ownWs !== "*" && toWs !== ownWs) return false;
    const localWs = ownWs || toWs;
    const fn = lookup(rpc._object_store!, data.method);
    if (typeof fn !== "function") return false;
    const annotation = rpc._method_annotations!.get(fn);
    if (!annotation || annotation.trusted_keys) return false;
    if (annotation.visibility === "protected" && localWs !== remoteWs) return false;
    const given = data.args === undefined ? [] : data.args;
    if (!Array.isArray(given) || !isWirePlain(given)) return false;
    let args: unknown[] = given;
    let kwargs: Record<string, unknown> | undefined;
    if (data.with_kwargs && args.length > 0) {
      const last = args[args.length - 1];
      if (!last || typeof last !== "object" || Array.isArray(last) || ArrayBuffer.isView(last)) return false;
      kwargs = { ...(last as Record<string, unknown>) };
      delete kwargs._rkwargs;
      args = args.slice(0, -1);
    }
    data.ctx.to = to;
    const reply = callFast(fn as (...a: unknown[]) => unknown, args, kwargs, annotation.require_context ? data.ctx : undefined);
    if (!reply) return false;
    stats.fast += 1;
    if (!data.promise) {
      reply.catch(failed(`${data.method} failed`));
      return true;
    }
    const session = data.session as string;
    const interval = Number(data.t);
    const beat = interval > 0
      ? setInterval(() => void emit({ type: "method", from: me(), to: data.from, method: `${session}.heartbeat`, parent: session }, { args: [] }), interval * 1000)
      : undefined;
    beat?.unref();
    reply.then(
      (result) => {
        if (beat) clearInterval(beat);
        if (isWirePlain([result])) {
          const message = pack({ type: "method", from: me(), to: data.from, method: `${session}.resolve`, parent: session }, { args: [result] });
          if (message.length <= (rpc._long_message_chunk_size ?? 256 * 1024) + 1024) {
            rpc._emit_message!(message).catch(failed(`could not send the reply of ${data.method}`));
            return;
          }
        }
        settleSlowly(data, remoteWs, localWs, "resolve", result).catch(failed(`could not send the reply of ${data.method}`));
      },
      (error: unknown) => {
        if (beat) clearInterval(beat);
        settleSlowly(data, remoteWs, localWs, "reject", error).catch(failed(`could not send the error of ${data.method}`));
      },
    );
    return true;
  };

  handlers[index] = (data: unknown) => {
    let handled = false;
    try {
      handled = tryFast(data);
    } catch (error) {
      onError(`fast call path: ${describeError(error)}; handing the call to hypha-rpc`);
    }
    if (handled) return undefined;
    stats.delegated += 1;
    return original(data);
  };
  return stats;
}
