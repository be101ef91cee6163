/**
 * The optional callbacks upstream's conda worker takes in `execute(session_id, script, config,
 * progress_callback=None, output_callback=None)`: progress gets {type, message} before and after the run;
 * output gets what upstream's kernel hands it, one Jupyter iopub message (`msg_type`, `content`, `header`,
 * `parent_header`, `metadata`) per output and for the error, after the run (this worker does not stream).
 * Both are remote functions that may fail or hang: they are bounded and can never fail the execution.
 */
import { describeError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { ExecuteResult } from "../session/types.js";

/** The iopub message a Jupyter kernel publishes for one output (the fields upstream's callers read). */
export interface IopubMessage {
  msg_type: string;
  header: { msg_type: string };
  parent_header: Record<string, never>;
  metadata: Record<string, never>;
  content: Record<string, unknown>;
}

function iopubMessage(msgType: string, content: Record<string, unknown>): IopubMessage {
  return { msg_type: msgType, header: { msg_type: msgType }, parent_header: {}, metadata: {}, content };
}

/** The messages upstream's output_callback receives for `result`, in kernel order (outputs, then the error). */
export function iopubMessagesOf(result: ExecuteResult): IopubMessage[] {
  const messages = result.outputs.map(({ type, ...content }) => iopubMessage(type, content));
  if (result.error) messages.push(iopubMessage("error", { ...result.error }));
  return messages;
}

export interface ExecuteCallbacks {
  progress_callback?: unknown;
  output_callback?: unknown;
}

const CALLBACK_TIMEOUT_MS = 5_000;

async function callBestEffort(fn: unknown, payload: unknown, logger: Logger): Promise<void> {
  if (typeof fn !== "function") return;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(() => (fn as (p: unknown) => unknown)(payload)),
      new Promise((resolve) => (timer = setTimeout(resolve, CALLBACK_TIMEOUT_MS))),
    ]);
  } catch (error) {
    logger.debug(`execute callback failed (ignored): ${describeError(error)}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `execute` between the progress messages, then hands each output to output_callback. */
export async function runWithExecuteCallbacks(callbacks: ExecuteCallbacks, logger: Logger, execute: () => Promise<ExecuteResult>): Promise<ExecuteResult> {
  await callBestEffort(callbacks.progress_callback, { type: "info", message: "Executing code in the app..." }, logger);
  const result = await execute();
  const ok = result.status === "ok";
  await callBestEffort(callbacks.progress_callback, { type: ok ? "success" : "error", message: ok ? "Code executed successfully" : "Code execution failed" }, logger);
  for (const message of iopubMessagesOf(result)) await callBestEffort(callbacks.output_callback, message, logger);
  return result;
}
