/**
 * `run --call SERVICE.FUNCTION [JSON_ARGS]`: parsing the target and the arguments, calling through the
 * session's bridge (local) or through Hypha (with --server-url), bounding the call, and printing the
 * result as one JSON document.
 */
import { UsageError, WorkerError } from "../errors.js";
import type { HyphaServer } from "../hypha/connect.js";
import { redact } from "../redact.js";

export interface CallTarget {
  serviceId: string;
  /** Function name inside the service; dots reach nested dicts ("math.add"). */
  method: string;
}

const SEGMENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SERVICE_ID = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;

/** Parses `default.add` (service `default`, function `add`); the first dot separates service and function. */
export function parseCallTarget(text: string): CallTarget {
  const dot = text.indexOf(".");
  const serviceId = dot > 0 ? text.slice(0, dot) : "";
  const method = dot > 0 ? text.slice(dot + 1) : "";
  if (!SERVICE_ID.test(serviceId) || method === "" || !method.split(".").every((part) => SEGMENT.test(part))) {
    throw new UsageError(`run: --call ${JSON.stringify(text)} is not SERVICE.FUNCTION; write e.g. --call default.add (service id, a dot, then the function name).`);
  }
  return { serviceId, method };
}

/** Parses JSON_ARGS: a JSON array of positional arguments (default: none). */
export function parseCallArgs(text: string | undefined): unknown[] {
  if (text === undefined) return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`run: the call arguments ${JSON.stringify(text)} are not JSON (${(error as Error).message}); quote them for the shell, e.g. '[1, 2]'.`, { cause: error });
  }
  if (!Array.isArray(value)) {
    throw new UsageError(`run: the call arguments must be a JSON array of positional arguments, e.g. '[1, 2]'; keyword arguments are not supported, so wrap an object to pass it as one argument: '[${text.trim()}]'.`);
  }
  return value;
}

/** Converts a call result to JSON text: bytes as base64, undefined as null, functions as null. */
export function formatCallResult(value: unknown): string {
  const text = JSON.stringify(value, (_key, inner: unknown) => {
    if (inner instanceof Uint8Array) return Buffer.from(inner.buffer, inner.byteOffset, inner.byteLength).toString("base64");
    if (inner instanceof ArrayBuffer) return Buffer.from(inner).toString("base64");
    if (typeof inner === "bigint") return inner.toString();
    if (typeof inner === "function" || inner === undefined) return null;
    if (inner && typeof inner === "object" && (inner as { type?: unknown }).type === "Buffer" && Array.isArray((inner as { data?: unknown }).data)) {
      return Buffer.from((inner as { data: number[] }).data).toString("base64");
    }
    return inner;
  });
  return text ?? "null";
}

/** The failure of a called function, for the CLI's error line: "Type: message" plus any traceback. */
export function describeCallError(error: unknown): { summary: string; traceback: string[] } {
  const e = error as { name?: unknown; message?: unknown; stack?: unknown };
  const message = redact(typeof e?.message === "string" ? e.message : String(error));
  const type = typeof e?.name === "string" && e.name !== "Error" && !(error instanceof WorkerError) ? e.name : "";
  const stack = typeof e?.stack === "string" ? redact(e.stack).split("\n") : [];
  // A Python traceback (bridge errors) starts after the "Type: message" line; JS stacks are not useful here.
  const traceback = stack.slice(1).some((line) => line.startsWith("Traceback") || line.startsWith("  File ")) ? stack.slice(1) : [];
  return { summary: type && !message.startsWith(`${type}:`) ? `${type}: ${message}` : message, traceback };
}

/** Rejects with a timeout error when `promise` takes longer than `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WorkerError("E_TIMEOUT", `${what} did not finish within ${ms / 1000} s; raise --timeout if it needs longer.`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Calls `method` of the app's service through Hypha (the service's full id is `ws/client:service`). */
export async function callThroughHypha(server: HyphaServer, fullServiceId: string, target: CallTarget, args: unknown[]): Promise<unknown> {
  let fn: unknown = await server.getService(fullServiceId);
  for (const part of target.method.split(".")) fn = (fn as Record<string, unknown> | undefined)?.[part];
  if (typeof fn !== "function") {
    throw new WorkerError("E_BRIDGE", `service ${JSON.stringify(fullServiceId)} has no function ${JSON.stringify(target.method)}; check the name in --call.`);
  }
  return (fn as (...a: unknown[]) => unknown)(...args);
}
