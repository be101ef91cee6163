/**
 * A scripted stand-in for src/session/session.ts, for worker tests that are about the API, calling
 * convention and authorization rather than processes: it goes through the same statuses and records calls.
 */
import type { EnvManager } from "../../src/env/types.js";
import { answerLogs, type LogShape } from "../../src/session/log-answer.js";
import { SessionLogs } from "../../src/session/logs.js";
import type { ExecuteResult, LogType, SessionDeps, SessionInfo, SessionStartOptions, StartConfig } from "../../src/session/types.js";
import type { SessionFactory, WorkerSession } from "../../src/worker/conda-worker.js";

export interface FakeBehaviour {
  /** What start does: run and register "default" (serve), exit 0 (complete), or fail. */
  outcome?: "serve" | "complete" | "fail" | "never-register";
  /** Progress messages start emits, in order. */
  progress?: string[];
  /** Lines the app writes to stderr while starting. */
  stderr?: string[];
}

export class FakeSession implements WorkerSession {
  status: SessionInfo["status"] = "starting";
  error: string | undefined;
  stopCalls = 0;
  executed: Array<{ code: string; timeoutMs: number }> = [];
  logs: Array<{ type: LogType; text: string }> = [];

  constructor(readonly deps: SessionDeps, readonly config: StartConfig, readonly behaviour: FakeBehaviour) {}

  async start(options: SessionStartOptions): Promise<void> {
    let elapsed = 0;
    for (const message of this.behaviour.progress ?? ["validating", "launching"]) {
      options.onProgress?.({ phase: "launching", type: "info", message, elapsed: (elapsed += 0.01) });
      this.logs.push({ type: "progress", text: message });
    }
    this.logs.push({ type: "stdout", text: `hello from ${this.config.app_id}` });
    for (const text of this.behaviour.stderr ?? []) this.logs.push({ type: "stderr", text });
    if (this.behaviour.outcome === "fail") {
      this.status = "failed";
      this.error = "Traceback (most recent call last):\nRuntimeError: boom";
      this.logs.push({ type: "stderr", text: this.error });
      throw new Error(`launch failed: ${this.error}`);
    }
    this.status = this.behaviour.outcome === "complete" ? "completed" : "running";
  }

  async stop(): Promise<void> {
    this.stopCalls += 1;
    this.status = "stopped";
  }

  info(): SessionInfo {
    return {
      session_id: this.config.id,
      app_id: this.config.app_id,
      workspace: this.config.workspace,
      client_id: this.config.client_id,
      status: this.status,
      app_type: String(this.config.manifest.type ?? "conda-python"),
      entry_point: this.config.entry_point ?? "main.py",
      created_at: "2026-01-01T00:00:00.000Z",
      metadata: this.config.manifest,
      ...(this.error ? { error: this.error } : {}),
    };
  }

  /** The real answer builder over this session's lines, so the shapes match src/session exactly. */
  getLogs(type: string | undefined, offset: number | undefined, limit: number | undefined, shape: LogShape = "seed"): unknown {
    const logs = new SessionLogs();
    for (const line of this.logs) logs.append(line.type, line.text);
    return answerLogs(logs, type, offset, limit, shape);
  }

  async execute(code: string, timeoutMs: number): Promise<ExecuteResult> {
    this.executed.push({ code, timeoutMs });
    return { status: "ok", outputs: [{ type: "stream", name: "stdout", text: `ran ${code.length} chars` }] };
  }

  async waitForService(id: string, timeoutMs: number): Promise<void> {
    if (this.behaviour.outcome === "serve") return;
    await new Promise((resolve) => setTimeout(resolve, Math.min(timeoutMs, 50)));
    throw new Error(`service ${id} was not registered within ${timeoutMs} ms`);
  }
}

/** A factory that records every session it creates. */
export function fakeSessionFactory(behaviour: FakeBehaviour | ((config: StartConfig) => FakeBehaviour) = {}): SessionFactory & { created: FakeSession[] } {
  const created: FakeSession[] = [];
  const factory = ((deps: SessionDeps, config: StartConfig) => {
    const session = new FakeSession(deps, config, typeof behaviour === "function" ? behaviour(config) : behaviour);
    created.push(session);
    return session;
  }) as unknown as SessionFactory & { created: FakeSession[] };
  factory.created = created;
  return factory;
}

/** An EnvManager double for worker tests that never build an env (only `options` is read). */
export function inertEnvManager(cacheDir: string): EnvManager {
  const unused = async (): Promise<never> => {
    throw new Error("inertEnvManager: the fake session never builds an env");
  };
  return {
    // It has no package manager to solve with, so compile validates only (as with --no-install-lock).
    options: { cacheDir, bootstrap: false, channelMap: {}, defaultChannels: ["conda-forge"], allowPipOptions: false, createTimeoutMs: 60_000, lockAtInstall: false },
    packageManager: unused,
    detectPackageManagers: unused,
    ensureEnv: unused,
    lockSpec: unused,
    acquireLease: unused,
    listEnvs: unused,
    gc: unused,
    removeEnv: unused,
  };
}
