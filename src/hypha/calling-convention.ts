/**
 * The calling-convention adapter: every worker method receives its arguments the same way whether the
 * caller is the Python Hypha server (keyword arguments on the wire), a JS or Python client calling
 * positionally, or anything in between, with hypha-rpc's own context appended (require_context).
 *
 * Why it is needed: hypha-rpc JS >= 0.21.36 handles a `with_kwargs` call by throwing away the positional
 * arguments and mapping the kwargs dict onto the parameter names parsed from `fn.toString()`, dropping
 * `context`. The Python server calls `start(config, context=ctx)`, so a plain JS method would receive
 * neither `config` nor the caller's context. `installKwargsAdapter` runs before hypha-rpc's own
 * "method" handler (its emitter fires the newest handler first) and turns such a call into one
 * positional marker argument that carries both parts untouched; `wrapMethod` unpacks it.
 */
import { UsageError } from "../errors.js";
import type { HyphaServer } from "./connect.js";

/** Context as hypha-rpc and the Hypha server hand it over: workspace, user, caller client. */
export interface CallContext {
  ws?: string;
  user?: { id?: string; [key: string]: unknown } | string;
  from?: string;
  to?: string;
  [key: string]: unknown;
}

/** A method's parameters in order, without the trailing `context`. */
export interface MethodSignature {
  name: string;
  params: readonly string[];
}

/** The arguments of one call after normalisation. */
export interface NormalisedCall {
  /** Named parameters; absent ones are undefined. */
  params: Record<string, unknown>;
  /** The `context` argument the caller passed (keyword or positional); trust it only as authorize.ts says. */
  callerContext?: CallContext;
  /** hypha-rpc's context for the direct caller (set by the server, cannot be forged by the caller). */
  rpcContext?: CallContext;
}

export type MethodImpl = (call: NormalisedCall) => Promise<unknown> | unknown;

const KWARGS_MARKER = "__hypha_conda_worker_kwargs_call__";

interface KwargsEnvelope {
  args: unknown[];
  kwargs: Record<string, unknown>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !ArrayBuffer.isView(value);
}

function unwrapEnvelope(value: unknown): KwargsEnvelope | undefined {
  if (!isPlainObject(value) || !(KWARGS_MARKER in value) || Object.keys(value).length !== 1) return undefined;
  const inner = value[KWARGS_MARKER];
  if (!isPlainObject(inner) || !Array.isArray(inner.args) || !isPlainObject(inner.kwargs)) return undefined;
  return { args: inner.args, kwargs: inner.kwargs };
}

function asContext(value: unknown): CallContext | undefined {
  return isPlainObject(value) ? (value as CallContext) : undefined;
}

/**
 * Maps raw hypha-rpc arguments onto the signature. With `rpcContextAppended` the last raw argument is
 * hypha-rpc's context (require_context: true); a positional argument after the declared ones is `context`.
 */
export function normaliseCall(signature: MethodSignature, rawArgs: readonly unknown[], rpcContextAppended = true): NormalisedCall {
  const args = [...rawArgs];
  const rpcContext = rpcContextAppended && args.length > 0 ? asContext(args.pop()) : undefined;
  let positional = args;
  let kwargs: Record<string, unknown> = {};
  const envelope = args.length === 1 ? unwrapEnvelope(args[0]) : undefined;
  if (envelope) {
    positional = envelope.args;
    kwargs = envelope.kwargs;
  }
  // Trailing undefined values are padding (hypha-rpc pads to fn.length), not real arguments.
  while (positional.length > 0 && positional[positional.length - 1] === undefined) positional = positional.slice(0, -1);
  const accepted = [...signature.params, "context"];
  if (positional.length > accepted.length) {
    throw new UsageError(`${signature.name}() takes at most ${accepted.length} arguments (${accepted.join(", ")}) but ${positional.length} were given`);
  }
  const values: Record<string, unknown> = {};
  positional.forEach((value, index) => {
    values[accepted[index]!] = value;
  });
  for (const [key, value] of Object.entries(kwargs)) {
    if (!accepted.includes(key)) {
      throw new UsageError(`${signature.name}() got an unexpected keyword argument '${key}'; it accepts ${accepted.join(", ")}`);
    }
    if (values[key] !== undefined && value !== undefined) {
      throw new UsageError(`${signature.name}() got multiple values for argument '${key}'; pass it either by position or by keyword`);
    }
    if (value !== undefined) values[key] = value;
  }
  const params: Record<string, unknown> = {};
  for (const name of signature.params) params[name] = values[name];
  const callerContext = asContext(values.context);
  return { params, ...(callerContext ? { callerContext } : {}), ...(rpcContext ? { rpcContext } : {}) };
}

/**
 * Wraps an implementation as a hypha-rpc service method. Its declared parameter list (what hypha-rpc
 * parses from toString) names the signature's parameters, so even a kwargs call that bypassed the
 * adapter maps keyword values to the right positions.
 */
export function wrapMethod(signature: MethodSignature, impl: MethodImpl): (...args: unknown[]) => Promise<unknown> {
  const method = async (...rawArgs: unknown[]): Promise<unknown> => impl(normaliseCall(signature, rawArgs, true));
  const declared = `function (${[...signature.params, "context"].join(", ")}) {}`;
  Object.defineProperty(method, "toString", { value: () => declared, enumerable: false });
  Object.defineProperty(method, "name", { value: signature.name });
  return method;
}

interface MethodMessage {
  method?: unknown;
  args?: unknown;
  with_kwargs?: unknown;
}

/**
 * Rewrites keyword-argument calls addressed to `serviceKey` (the service id without workspace/client)
 * into a single envelope argument before hypha-rpc decodes them. Returns a function that removes it.
 */
export function installKwargsAdapter(server: Pick<HyphaServer, "on">, serviceKey: string): () => void {
  if (typeof server.on !== "function") {
    throw new UsageError("the Hypha connection has no event API (server.on); use hypha-rpc >= 0.21.36 through connectToHypha");
  }
  const prefix = `services.${serviceKey}.`;
  const handler = (data: unknown): void => {
    const message = data as MethodMessage;
    if (!message || !message.with_kwargs || typeof message.method !== "string" || !message.method.startsWith(prefix)) return;
    if (!Array.isArray(message.args) || message.args.length === 0) return;
    const kwargs = message.args[message.args.length - 1];
    if (!isPlainObject(kwargs)) return;
    message.args = [{ [KWARGS_MARKER]: { args: message.args.slice(0, -1), kwargs } }];
    message.with_kwargs = false;
  };
  server.on("method", handler as (...args: unknown[]) => void);
  const off = (server as { off?: (event: string, handler: unknown) => void }).off;
  return () => {
    if (typeof off === "function") off.call(server, "method", handler);
  };
}
