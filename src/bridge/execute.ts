/** execute(): code run in the app's __main__ namespace, with a timeout that interrupts only that run. */
import { BridgeError } from "../errors.js";
import type { ExecuteOutput, ExecuteResult } from "./types.js";

/** How long to wait for the app to report an interrupted execution before answering for it. */
export const INTERRUPT_GRACE_MS = 2000;

export interface ExecuteChannel {
  /** Sends a request to the app; returns its id and the reply. */
  request(message: { t: string; [key: string]: unknown }): { id: number; reply: Promise<unknown> };
  notify(message: { t: string; [key: string]: unknown }): void;
}

/** One output the app reported, rebuilt from known fields only; undefined for anything else. */
function toOutput(value: unknown): ExecuteOutput | undefined {
  const o = value as Record<string, unknown> | null;
  if (!o || typeof o !== "object") return undefined;
  if (o.type === "stream" && (o.name === "stdout" || o.name === "stderr") && typeof o.text === "string") {
    return { type: "stream", name: o.name, text: o.text };
  }
  const text = (o.data as Record<string, unknown> | null | undefined)?.["text/plain"];
  if (o.type === "execute_result" && typeof text === "string" && Number.isInteger(o.execution_count)) {
    return { type: "execute_result", data: { "text/plain": text }, metadata: {}, execution_count: o.execution_count as number };
  }
  return undefined;
}

/** Validates what the app answered (it is untrusted input). */
export function toExecuteResult(value: unknown): ExecuteResult {
  const v = value as { status?: unknown; outputs?: unknown; error?: ExecuteResult["error"] } | null;
  if (!v || (v.status !== "ok" && v.status !== "error") || !Array.isArray(v.outputs)) {
    throw new BridgeError("E_EXECUTE", "the app answered execute() with a malformed result (runner and worker versions differ?)");
  }
  const result: ExecuteResult = {
    status: v.status,
    outputs: v.outputs.map(toOutput).filter((o): o is ExecuteOutput => o !== undefined),
  };
  if (v.error) {
    result.error = {
      ename: String(v.error.ename),
      evalue: String(v.error.evalue),
      traceback: Array.isArray(v.error.traceback) ? v.error.traceback.map(String) : [],
    };
  }
  return result;
}

/** Runs `code` in the app; after `timeoutMs` asks the app to interrupt it and answers within a grace. */
export async function runExecution(channel: ExecuteChannel, code: string, timeoutMs: number, graceMs = INTERRUPT_GRACE_MS): Promise<ExecuteResult> {
  if (typeof code !== "string") throw new BridgeError("E_EXECUTE", "execute: the script must be a string of Python code");
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new BridgeError("E_EXECUTE", `execute: timeout must be a positive number of milliseconds, got ${String(timeoutMs)}`);
  const { id, reply } = channel.request({ t: "execute", code });
  let timer: NodeJS.Timeout | undefined;
  let grace: NodeJS.Timeout | undefined;
  const timedOut = new Promise<ExecuteResult>((resolve) => {
    timer = setTimeout(() => {
      channel.notify({ t: "interrupt", target: id });
      grace = setTimeout(() => {
        resolve({
          status: "error",
          outputs: [],
          error: {
            ename: "TimeoutError",
            evalue: `execution exceeded ${timeoutMs} ms and is blocked where it cannot be interrupted (e.g. inside a C call); it will stop when that call returns, and the app keeps running`,
            traceback: [],
          },
        });
      }, graceMs);
    }, timeoutMs);
  });
  try {
    return await Promise.race([reply.then(toExecuteResult), timedOut]);
  } finally {
    clearTimeout(timer);
    clearTimeout(grace);
  }
}
