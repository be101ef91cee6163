/**
 * When does `start` return? The server waits for the app's `wait_for_service` service itself, but direct
 * callers use our return value, so `start` resolves once the app is up: the service is registered, or the
 * entry point finished (a plain script), always bounded by `config.timeout`: an app still running
 * without the service at the deadline is reported (warning) and returned, not killed.
 * "Registered" is whichever is seen first: the app registering it through the bridge, or the server
 * having `{workspace}/{client_id}:{service}` (an app with the real hypha_rpc connects by itself). A
 * conda-jupyter-kernel app is also up once its cell has run, as upstream's start returns then.
 */
import { KERNEL_APP_TYPE } from "../env/spec/manifest.js";
import { SessionError, describeError } from "../errors.js";
import type { ServicePresence } from "../hypha/service-presence.js";
import { redact } from "../redact.js";
import type { SessionInfo, StartConfig } from "../session/types.js";

export interface StartedSession {
  info(): SessionInfo;
  waitForService(id: string, timeoutMs: number): Promise<void>;
  /** Resolves when the app has ended (completed, failed or stopped). */
  whenEnded?(): Promise<unknown>;
  /** Resolves once the entry point's top-level code returned. */
  whenMainDone?(): Promise<void>;
}

// The bridge may notice an exit a moment before the session records the exit status.
const EXIT_SETTLE_MS = 300;
// Asking the server: first after 100 ms, then every 1.5× longer up to 1 s; one answer waited for 5 s at most.
const PRESENCE_FIRST_MS = 100;
const PRESENCE_MAX_MS = 1_000;
const PRESENCE_ANSWER_MS = 5_000;

/** Resolves when the app is up; throws a SessionError explaining why it is not. */
export async function waitUntilAppIsUp(
  session: StartedSession,
  config: StartConfig,
  waitForService: string | false,
  warn: (message: string) => void,
  startedAt = Date.now(),
  presence?: ServicePresence,
): Promise<void> {
  const status = session.info().status;
  if (status === "failed") throw failure(session.info(), config);
  if (waitForService === false || status === "completed") return;
  const timeoutMs = Math.max(1, (config.timeout ?? 60) * 1000 - (Date.now() - startedAt));
  try {
    const fullId = `${config.workspace}/${config.client_id}:${waitForService}`;
    const registered = session.waitForService(waitForService, timeoutMs);
    const cellDone = config.manifest.type === KERNEL_APP_TYPE && session.whenMainDone ? session.whenMainDone() : undefined;
    if (cellDone) registered.catch(() => undefined); // the cell may finish first; then nobody awaits the service
    await waitOnBridgeOrServer(registered, presence && (() => presence(fullId)), cellDone);
  } catch (error) {
    if (session.info().status === "running" && session.whenEnded) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([session.whenEnded(), new Promise((resolve) => (timer = setTimeout(resolve, EXIT_SETTLE_MS)))]).finally(() => clearTimeout(timer));
    }
    const info = session.info();
    if (info.status === "completed") return;
    if (info.status === "failed") throw failure(info, config);
    if (info.status === "stopping" || info.status === "stopped") {
      throw new SessionError("E_SESSION", `App '${config.app_id}' was stopped while starting.`, { cause: error });
    }
    // Still running but silent: report it and return; the server applies its own wait for the service.
    warn(
      `App '${config.app_id}' did not register service '${waitForService}' within ${config.timeout ?? 60} s (${redact(describeError(error))}); ` +
        "it keeps running. Check get_logs, or set startup_config.wait_for_service to false for a detached app.",
    );
  }
}

/**
 * Resolves with the bridge's wait, as soon as the server has the service, or when `alsoUp` resolves (a
 * kernel's cell ran); rejects as the bridge's wait does.
 */
function waitOnBridgeOrServer(onBridge: Promise<void>, onServer: (() => Promise<boolean>) | undefined, alsoUp?: Promise<unknown>): Promise<void> {
  if (!onServer && !alsoUp) return onBridge;
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const settle = (action: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      action();
    };
    onBridge.then(() => settle(resolve), (error: unknown) => settle(() => reject(error)));
    alsoUp?.then(() => settle(resolve), () => undefined);
    if (!onServer) return;
    const poll = async (delay: number): Promise<void> => {
      if (settled) return;
      if (await withinMs(onServer(), PRESENCE_ANSWER_MS)) return settle(resolve);
      if (!settled) timer = setTimeout(() => void poll(Math.min(delay * 1.5, PRESENCE_MAX_MS)), delay);
    };
    timer = setTimeout(() => void poll(PRESENCE_FIRST_MS), PRESENCE_FIRST_MS);
  });
}

/** The answer, or false when it takes longer than `ms`. */
async function withinMs(answer: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  return Promise.race([answer.catch(() => false), late]).finally(() => clearTimeout(timer));
}

function failure(info: SessionInfo, config: StartConfig): SessionError {
  return new SessionError("E_LAUNCH", `App '${config.app_id}' failed during start-up: ${redact(info.error ?? "the process exited with an error")}`);
}
