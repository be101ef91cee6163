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
import { encode } from "@msgpack/msgpack";
import { describeError } from "../errors.js";
import type { HyphaServer } from "./connect.js";
import { callWorkspaces, lookup, REQUIRED, settleWithRpc, type MethodMessage, type RpcInternals } from "./rpc-internals.js";
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

function pack(main: Record<string, unknown>, extra: Record<string, unknown>): Uint8Array {
  const head = encode(main);
  const tail = encode(extra);
  const out = new Uint8Array(head.length + tail.length);
  out.set(head);
  out.set(tail, head.length);
  return out;
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
    const { remoteWs, remoteClient, to, toWs, localWs } = callWorkspaces(rpc, data.from, data.to);
    if (!remoteClient) return false;
    const ownWs = rpc._local_workspace;
    if (ownWs && ownWs !== "*" && toWs !== ownWs) return false;
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
