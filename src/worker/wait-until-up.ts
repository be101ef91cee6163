/**
 * When does `start` return? The server waits for the app's `wait_for_service` service itself, but direct
 * callers use our return value, so `start` resolves once the app is up: the service is registered, or the
 * entry point finished (a plain script), always bounded by `config.timeout`: an app still running
 * without the service at the deadline is reported (warning) and returned, not killed. A
 * conda-jupyter-kernel app is also up once its cell has run, as upstream's start returns then: such an app
 * may register its service directly with a real hypha_rpc, which the bridge never sees.
 */
import { KERNEL_APP_TYPE } from "../env/spec/manifest.js";
import { SessionError, describeError } from "../errors.js";
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

/** Resolves when the app is up; throws a SessionError explaining why it is not. */
export async function waitUntilAppIsUp(
  session: StartedSession,
  config: StartConfig,
  waitForService: string | false,
  warn: (message: string) => void,
  startedAt = Date.now(),
): Promise<void> {
  const status = session.info().status;
  if (status === "failed") throw failure(session.info(), config);
  if (waitForService === false || status === "completed") return;
  const timeoutMs = Math.max(1, (config.timeout ?? 60) * 1000 - (Date.now() - startedAt));
  try {
    const registered = session.waitForService(waitForService, timeoutMs);
    if (config.manifest.type === KERNEL_APP_TYPE && session.whenMainDone) {
      registered.catch(() => undefined); // the cell may finish first; then nobody awaits the service
      await Promise.race([registered, session.whenMainDone()]);
    } else {
      await registered;
    }
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

function failure(info: SessionInfo, config: StartConfig): SessionError {
  return new SessionError("E_LAUNCH", `App '${config.app_id}' failed during start-up: ${redact(info.error ?? "the process exited with an error")}`);
}
