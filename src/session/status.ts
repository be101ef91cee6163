/** The session state machine's allowed transitions, status-change notification, and the info view. */
import type { EnvResult } from "../env/types.js";
import type { AppExit } from "./process.js";
import type { SessionInfo, SessionStatus, StartConfig } from "./types.js";

export type StatusListener = (status: SessionStatus, info: SessionInfo) => void;

const TRANSITIONS: Record<SessionStatus, SessionStatus[]> = {
  starting: ["running", "failed", "stopping"],
  running: ["completed", "failed", "stopping"],
  stopping: ["stopped"],
  completed: ["stopping", "stopped"],
  failed: ["stopping", "stopped"],
  stopped: [],
};

/** True when a session in `from` may move to `to` (a repeated status is not a transition). */
export function canTransition(from: SessionStatus, to: SessionStatus): boolean {
  return from !== to && TRANSITIONS[from].includes(to);
}

/** Calls every listener; one that throws is reported and never stops the others. */
export function notifyStatusListeners(listeners: Iterable<StatusListener>, status: SessionStatus, info: SessionInfo, onListenerError: (error: unknown) => void): void {
  for (const listener of listeners) {
    try {
      listener(status, info);
    } catch (error) {
      onListenerError(error);
    }
  }
}

export interface SessionFacts {
  config: StartConfig;
  status: SessionStatus;
  entryPoint: string;
  createdAt: string;
  env: EnvResult | undefined;
  exit: AppExit | undefined;
  services: string[];
  error: string | undefined;
}

/** The worker API's session info; `metadata` carries the env and exit facts. */
export function buildSessionInfo(facts: SessionFacts): SessionInfo {
  const metadata: Record<string, unknown> = {};
  if (facts.env) Object.assign(metadata, { env_hash: facts.env.hash, env_prefix: facts.env.prefix, env_status: facts.env.status });
  if (facts.exit) Object.assign(metadata, { exit_code: facts.exit.code, signal: facts.exit.signal });
  metadata.services = facts.services;
  return {
    session_id: facts.config.id,
    app_id: facts.config.app_id,
    workspace: facts.config.workspace,
    client_id: facts.config.client_id,
    status: facts.status,
    // The manifest's own type, as upstream reports it (conda-jupyter-kernel apps stay of that type).
    app_type: typeof facts.config.manifest.type === "string" ? facts.config.manifest.type : "conda-python",
    entry_point: facts.entryPoint,
    created_at: facts.createdAt,
    metadata,
    ...(facts.error !== undefined ? { error: facts.error } : {}),
  };
}
