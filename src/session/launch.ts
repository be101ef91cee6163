/**
 * Launching the app: spawn the runner command in the working dir with the child environment, attach the
 * bridge host to fd 3, and wait for the runner's handshake (bounded, and cut short if the process dies).
 */
import type { AppIdentity, BridgeHost, ServiceMode } from "../bridge/types.js";
import { SessionError, describeError } from "../errors.js";
import type { LogType, SessionRuntime, StartConfig } from "./types.js";
import { spawnAppProcess, type AppExit, type AppProcess } from "./process.js";

export interface LaunchInput {
  runtime: SessionRuntime;
  pythonPath: string;
  entryPoint: string;
  cwd: string;
  /** Run the entry point as upstream's kernel cell (see RunnerCommandInput.kernel). */
  kernel?: boolean;
  /** Builds the complete child environment from what the runner command adds. */
  buildEnv: (runnerEnv: Record<string, string>) => Record<string, string>;
  identity: AppIdentity;
  mode: ServiceMode;
  handshakeTimeoutMs: number;
  log: (type: LogType, line: string) => void;
  onChunk?: (stream: "stdout" | "stderr", text: string) => void;
  /** The bridge channel failed after it was attached (see BridgeHostOptions.onChannelError). */
  onChannelError?: (error: Error) => void;
  /** Called as soon as the process exists, so a concurrent stop can kill it. */
  onSpawned: (proc: AppProcess, bridge: BridgeHost) => void;
}

export interface Launched {
  proc: AppProcess;
  bridge: BridgeHost;
}

/** Thrown when the process exits before the handshake; carries the exit for the session's error text. */
export class EarlyExitError extends SessionError {
  constructor(readonly exit: AppExit) {
    super("E_LAUNCH", `The app exited (${describeExit(exit)}) before the bridge runner's handshake.`, { details: { ...exit } });
  }
}

/** Human text for an exit: "exit code 1" or "signal SIGKILL". */
/** Who the app is on Hypha, from its start config (the app's own token, never the worker's). */
export function appIdentityOf(config: StartConfig): AppIdentity {
  return {
    sessionId: config.id,
    appId: config.app_id,
    workspace: config.workspace,
    clientId: config.client_id,
    serverUrl: config.server_url,
    ...(config.token ? { token: config.token } : {}),
    ...(config.disable_ssl ? { disableSsl: true } : {}),
  };
}

export function describeExit(exit: AppExit): string {
  return exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code ?? "unknown"}`;
}

export async function launchApp(input: LaunchInput): Promise<Launched> {
  const command = input.runtime.buildRunnerCommand({ pythonPath: input.pythonPath, entryPoint: input.entryPoint, cwd: input.cwd, ...(input.kernel ? { kernel: true } : {}) });
  const proc = spawnAppProcess({
    file: command.file,
    args: command.args,
    cwd: input.cwd,
    env: input.buildEnv(command.env),
    stdio: command.stdio,
    onLine: (stream, line) => input.log(stream, line),
    ...(input.onChunk ? { onChunk: input.onChunk } : {}),
  });
  let bridge: BridgeHost;
  try {
    bridge = input.runtime.createBridgeHost({
      channel: proc.channel,
      identity: input.identity,
      mode: input.mode,
      log: (type, line) => input.log(type, line),
      ...(input.onChannelError ? { onChannelError: input.onChannelError } : {}),
    });
  } catch (error) {
    await proc.terminate(0);
    throw new SessionError("E_BRIDGE", `Could not attach the bridge to the app: ${describeError(error)}.`, { cause: error });
  }
  input.onSpawned(proc, bridge);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new SessionError("E_TIMEOUT", `The app's bridge runner did not complete its handshake within ${input.handshakeTimeoutMs / 1000} s. Check the app's stderr in the logs; raise the start timeout if the machine is slow.`));
    }, input.handshakeTimeoutMs);
  });
  const early = proc.exited.then((exit) => {
    throw new EarlyExitError(exit);
  });
  try {
    await Promise.race([bridge.ready, timeout, early]);
  } catch (error) {
    // The runner may handshake and exit in the same instant: a completed handshake wins.
    if (error instanceof EarlyExitError && (await isSettledOk(bridge.ready))) return { proc, bridge };
    if (error instanceof SessionError) throw error;
    throw new SessionError("E_BRIDGE", `The bridge handshake with the app failed: ${describeError(error)}.`, { cause: error });
  } finally {
    clearTimeout(timer);
    early.catch(() => undefined);
  }
  return { proc, bridge };
}

async function isSettledOk(promise: Promise<unknown>): Promise<boolean> {
  const pending = Symbol("pending");
  try {
    return (await Promise.race([promise, Promise.resolve(pending)])) !== pending;
  } catch {
    return false;
  }
}
