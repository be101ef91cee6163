/**
 * The session layer's public contract: what the worker (and `run`) need from a running app.
 * Implemented in src/session/session.ts.
 */
import type { EnvManager, EnvOptions, EnvSpec } from "../env/types.js";
import type { ServiceMode, ExecuteResult, BridgeHost, BridgeHostOptions, RunnerCommand } from "../bridge/types.js";
import type { ProgressSink } from "../progress.js";
import type { Logger } from "../logger.js";

export type SessionStatus = "starting" | "running" | "stopping" | "stopped" | "failed" | "completed";

/** Session info exactly as the worker API returns it (seed: get_session_info). */
export interface SessionInfo {
  session_id: string;
  app_id: string;
  workspace: string;
  client_id: string;
  status: SessionStatus;
  app_type: string;
  entry_point: string;
  created_at: string;
  metadata: Record<string, unknown>;
  error?: string;
}

export type LogType = "stdout" | "stderr" | "info" | "error" | "progress";

/** The start config after validation (`_rtype` stripped, `timeout` in seconds, callbacks separated). */
export interface StartConfig {
  id: string;
  app_id: string;
  workspace: string;
  client_id: string;
  server_url: string;
  app_files_base_url?: string;
  token?: string;
  entry_point?: string;
  artifact_id?: string;
  /** Seconds (may be fractional). */
  timeout?: number;
  manifest: Record<string, unknown>;
  disable_ssl?: boolean;
}

/**
 * Where the app's files come from. Production: HTTP from app_files_base_url (Bearer token,
 * ?use_proxy=true). Local `run`: a directory on disk.
 */
export interface AppFileSource {
  /** Returns the file's bytes, or undefined when it does not exist. */
  readFile(relPath: string): Promise<Buffer | undefined>;
  /** Lists a folder (relPath ends with "/"): names and kinds. */
  listFolder(relPath: string): Promise<Array<{ name: string; type: "file" | "directory"; size?: number }>>;
}

export interface LogLimits {
  maxLines: number;
  maxBytes: number;
}

/** Everything a session needs from its owner (the worker or the `run` command). */
export interface SessionDeps {
  env: EnvManager;
  /** Options for building the env spec (same shape as src/env/spec.ts SpecOptions). */
  specOptions: Pick<EnvOptions, "channelMap" | "allowedChannels" | "defaultChannels" | "allowPipOptions" | "lockMismatch">;
  /** Root under which each session gets its own working directory. */
  workingRoot: string;
  /** Where services go: Hypha (production) or local. */
  serviceMode: ServiceMode;
  /** Extra variables the operator passes through to every app (validated by the owner). */
  passEnv: Record<string, string>;
  logLimits: LogLimits;
  /** Grace between SIGTERM and SIGKILL on stop. */
  stopGraceMs: number;
  logger: Logger;
}

export interface SessionStartOptions {
  onProgress?: ProgressSink;
  /** Overrides the HTTP file source (local `run` passes a directory source). */
  files?: AppFileSource;
  /** Forward the app's stdout/stderr live (local `run`). */
  onOutput?: (type: "stdout" | "stderr", text: string) => void;
}

export type { ExecuteResult };

/** What a session needs of a normalised manifest. */
export interface SessionManifest {
  type: string;
  entryPoint: string;
  filesToStage: string[];
  envSource: string;
  manifest: Record<string, unknown>;
}

/**
 * The modules a session drives but does not own (manifest + spec from the env layer, runner + host from the
 * bridge), as one object so tests can substitute them. The default is src/session/runtime.ts.
 */
export interface SessionRuntime {
  normalizeManifest(raw: unknown): SessionManifest;
  resolveEnvSpec(
    manifest: SessionManifest,
    readAppFile: (relPath: string) => Promise<string | undefined>,
    options: SessionDeps["specOptions"],
  ): Promise<EnvSpec>;
  buildRunnerCommand(input: { pythonPath: string; entryPoint: string; cwd: string; kernel?: boolean }): RunnerCommand;
  createBridgeHost(options: BridgeHostOptions): BridgeHost;
}

