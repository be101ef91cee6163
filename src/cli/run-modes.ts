/**
 * What `run` does once the app is running: call one function and print its result (`--call`), or serve
 * until the app ends, announcing the services it registers. Both return the exit code.
 */
import { describeError } from "../errors.js";
import type { HyphaServer } from "../hypha/connect.js";
import type { Logger } from "../logger.js";
import { redact } from "../redact.js";
import type { Session } from "../session/session.js";
import type { CommandContext } from "./command.js";
import type { LocalApp } from "./run-app-source.js";
import { callThroughHypha, describeCallError, formatCallResult, withTimeout } from "./run-call.js";
import type { RunSettings } from "./run-settings.js";
import { signalExitCode } from "./signals.js";

const SERVICE_POLL_MS = 100;

export function exitCodeOf(session: Session): number {
  const exit = session.exit();
  if (!exit) return 1;
  if (exit.signal) return signalExitCode(exit.signal);
  return exit.code ?? 1;
}

/** The first line of a session error (the rest repeats the stderr the user already saw live). */
export function firstLine(text: string | undefined): string {
  return redact((text ?? "").split("\n")[0] ?? "");
}

export interface RunContext {
  ctx: CommandContext;
  settings: RunSettings;
  app: LocalApp;
  session: Session;
  caller: HyphaServer | undefined;
  workspace: string;
  clientId: string;
  logger: Logger;
  /** Set once a signal arrived: the driver must print nothing more. */
  interrupted: () => boolean;
}

/** Prints each service the app registers, once (serving mode only). */
function announceServices(run: RunContext): () => void {
  const seen = new Set<string>();
  const timer = setInterval(() => {
    const services = run.session.info().metadata.services;
    if (!Array.isArray(services)) return;
    for (const id of services) {
      if (typeof id !== "string" || seen.has(id) || run.interrupted()) continue;
      seen.add(id);
      run.logger.info(`service ready: ${run.workspace}/${run.clientId}:${id} (press Ctrl-C to stop)`);
    }
  }, SERVICE_POLL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

export async function callAndPrint(run: RunContext): Promise<number> {
  const { settings, session, ctx } = run;
  const target = settings.call!;
  const timeoutMs = settings.timeoutS * 1000;
  const label = `${target.serviceId}.${target.method}`;
  try {
    await session.waitForService(target.serviceId, timeoutMs);
  } catch (error) {
    if (run.interrupted()) return 1;
    const ended = session.info();
    ctx.stderr.write(`error: ${redact(describeError(error))}\n`);
    return ended.status === "failed" ? exitCodeOf(session) : 1;
  }
  let result: unknown;
  try {
    const call = run.caller
      ? callThroughHypha(run.caller, `${run.workspace}/${run.clientId}:${target.serviceId}`, target, settings.callArgs)
      : session.callService(target.serviceId, target.method, settings.callArgs);
    result = await withTimeout(Promise.resolve(call), timeoutMs, `the call ${label}`);
  } catch (error) {
    if (run.interrupted()) return 1;
    const { summary, traceback } = describeCallError(error);
    ctx.stderr.write(`error: the call ${label} failed: ${summary}\n`);
    for (const line of traceback) if (line.trim() !== "") ctx.stderr.write(`  ${line}\n`);
    return 1;
  }
  if (!run.interrupted()) ctx.stdout.write(`${formatCallResult(result)}\n`);
  return 0;
}

export async function serveUntilEnd(run: RunContext): Promise<number> {
  const stopAnnouncing = announceServices(run);
  try {
    const info = await run.session.whenEnded();
    if (info.status === "failed" && !run.interrupted()) run.ctx.stderr.write(`error: ${firstLine(info.error)}\n`);
    return exitCodeOf(run.session);
  } finally {
    stopAnnouncing();
  }
}
