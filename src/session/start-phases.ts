/**
 * The phases of a session's start after validation: prepare the app (manifest, files, env, staging), then
 * launch the runner and complete the bridge handshake. The session passes in what it holds and the hooks
 * it needs; this module owns the wiring between prepare.ts, launch.ts and the child environment.
 */
import type { EnvResult } from "../env/types.js";
import type { ProgressReporter } from "../progress.js";
import { buildChildEnv } from "./child-env.js";
import { appIdentityOf, launchApp } from "./launch.js";
import { prepareApp } from "./prepare.js";
import type { SessionResources } from "./resources.js";
import type { LogType, SessionDeps, SessionRuntime, SessionStartOptions, StartConfig } from "./types.js";

const DEFAULT_LAUNCH_TIMEOUT_S = 30;

export interface StartPhasesInput {
  config: StartConfig;
  deps: SessionDeps;
  runtime: SessionRuntime;
  progress: ProgressReporter;
  opts: SessionStartOptions;
  signal: AbortSignal;
  held: SessionResources;
  log: (type: LogType, line: string) => void;
  /** Throws when the session was stopped meanwhile. */
  checkStopped: () => void;
  onEntryPoint: (entryPoint: string) => void;
  onEnv: (env: EnvResult) => void;
  /** The bridge channel failed after it was attached. */
  onChannelError: (error: Error) => void;
  /** The process exists (a concurrent stop can now kill it). */
  onSpawned: () => void;
}

/** Resolves once the runner completed its handshake; rejects on any failure or stop. */
export async function runStartPhases(input: StartPhasesInput): Promise<void> {
  const { config, deps, runtime, progress, opts, held } = input;
  const { entryPoint, env, workDir, stagedFiles, kernel } = await prepareApp({
    config,
    deps,
    runtime,
    progress,
    ...(opts.files ? { files: opts.files } : {}),
    signal: input.signal,
    held,
    checkStopped: input.checkStopped,
    onEntryPoint: input.onEntryPoint,
    onEnv: input.onEnv,
  });
  progress.report("launching", "info", `Launching ${entryPoint} with ${env.pythonPath} (${stagedFiles} files staged).`);
  await launchApp({
    runtime,
    pythonPath: env.pythonPath,
    entryPoint,
    cwd: workDir,
    kernel,
    buildEnv: (runnerEnv) => buildChildEnv({ activation: env.activation, config, passEnv: deps.passEnv, runnerEnv }),
    identity: appIdentityOf(config),
    mode: deps.serviceMode,
    handshakeTimeoutMs: (config.timeout ?? DEFAULT_LAUNCH_TIMEOUT_S) * 1000,
    log: input.log,
    ...(opts.onOutput ? { onChunk: opts.onOutput } : {}),
    onChannelError: input.onChannelError,
    onSpawned: (proc, bridge) => {
      held.proc = proc;
      held.bridge = bridge;
      input.onSpawned();
    },
  });
  input.checkStopped();
}
