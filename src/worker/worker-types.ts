/** The worker's contracts: what it needs from a session, how sessions are made, and its options. */
import type { EnvManager } from "../env/types.js";
import type { ServiceMode } from "../bridge/types.js";
import type { ServicePresence } from "../hypha/service-presence.js";
import type { ExecuteResult, SessionDeps, SessionInfo, SessionStartOptions, StartConfig } from "../session/types.js";
import type { LogShape } from "../session/log-answer.js";
import type { WorkerOptions } from "./options.js";

/** What the worker needs from a session (src/session/session.ts implements it). */
export interface WorkerSession {
  start(options: SessionStartOptions): Promise<void>;
  stop(): Promise<void>;
  info(): SessionInfo;
  getLogs(type: string | undefined, offset: number | undefined, limit: number | undefined, shape: LogShape): unknown;
  execute(code: string, timeoutMs: number): Promise<ExecuteResult>;
  waitForService(id: string, timeoutMs: number): Promise<void>;
  /** Resolves when the app has ended (completed, failed or stopped). */
  whenEnded?(): Promise<unknown>;
  /** Resolves once the entry point's top-level code returned (the app may keep serving). */
  whenMainDone?(): Promise<void>;
}

export type SessionFactory = (deps: SessionDeps, config: StartConfig) => WorkerSession | Promise<WorkerSession>;

export interface CondaWorkerOptions extends Partial<Omit<WorkerOptions, "envOptions">> {
  /** The environment layer, shared by every session (create it once with createEnvManager). */
  env: EnvManager;
  workingDir: string;
  /** Where app services go; defaults to Hypha with the app's own token. */
  serviceMode?: ServiceMode;
  /** The workspace the worker service lives in (its operator may call shutdown). */
  workerWorkspace?: string;
  /** Replaces the Session class (tests). */
  createSession?: SessionFactory;
  /** How many sessions whose start failed stay readable (the server never stops them); default 50. */
  retainFailedStarts?: number;
  /** Asks the server whether an app's service is registered (registerWorkerService sets it). */
  servicePresence?: ServicePresence;
}
