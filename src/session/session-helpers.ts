/**
 * The parts of a Session that need none of its state machine: waiting for a service against the app's
 * end, logging an execution as upstream does, the failure text with the stderr tail, and the progress
 * reporter that also logs each event.
 */
import type { BridgeHost } from "../bridge/types.js";
import { SessionError, describeError } from "../errors.js";
import { createProgressReporter, type ProgressEvent, type ProgressReporter } from "../progress.js";
import { redact } from "../redact.js";
import type { SessionLogs } from "./logs.js";
import type { ExecuteResult, SessionInfo, SessionStartOptions } from "./types.js";

const STDERR_TAIL_LINES = 20;

/** Resolves once the app registered service `id`; rejects on timeout or when `ended` settles first. */
export async function waitForAppService(bridge: BridgeHost | undefined, ended: Promise<SessionInfo>, current: SessionInfo, id: string, timeoutMs: number): Promise<void> {
  const endedError = (info: SessionInfo) =>
    new SessionError("E_SESSION", `The app ended (${info.status}) before it registered service ${JSON.stringify(id)}.${info.error ? ` ${info.error}` : ""}`);
  if (!bridge) throw endedError(current);
  const endedFirst = ended.then((info) => {
    throw endedError(info);
  });
  endedFirst.catch(() => undefined);
  await Promise.race([bridge.waitForService(id, timeoutMs), endedFirst]);
}

/** As upstream's worker: what an execution printed goes to stdout/stderr, its error to error. */
export function logExecution(logs: SessionLogs, result: ExecuteResult): void {
  for (const output of result.outputs) if (output.type === "stream") logs.appendText(output.name, output.text);
  if (result.error) logs.appendText("error", `Error: ${result.error.ename}: ${result.error.evalue}`);
  logs.append("info", `execute: ${result.status}`);
}

/** The error text: what failed, plus the last stderr lines when the app itself produced some. */
export function explainFailure(error: unknown, logs: SessionLogs, appExited: boolean): string {
  const base = redact(describeError(error));
  const tail = appExited ? logs.tail("stderr", STDERR_TAIL_LINES) : [];
  return tail.length > 0 ? `${base}\nLast stderr lines:\n${tail.join("\n")}` : base;
}

/** A reporter that logs every event as a `progress` line before handing it to the caller's callback. */
export function createLoggingReporter(logs: SessionLogs, opts: SessionStartOptions): ProgressReporter {
  return createProgressReporter((event: ProgressEvent) => {
    logs.append("progress", `[${event.phase}] ${event.message}`);
    opts.onProgress?.(event);
  });
}
