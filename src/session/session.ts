/**
 * One running app. States: starting → running → stopping → stopped, starting → failed,
 * running → failed | completed (and completed/failed → stopped once stopped). Start walks the phases
 * (validating, fetching, resolving, creating, staging, launching, running), each reported as progress
 * and logged; any failure or stop releases everything the session holds (bridge, process group, env
 * lease, working dir). Logs stay readable until the owner drops the session.
 */
import type { BridgeHost } from "../bridge/types.js";
import type { EnvResult } from "../env/types.js";
import { SessionError, describeError } from "../errors.js";
import type { ProgressReporter } from "../progress.js";
import { forgetSecret, registerSecret } from "../redact.js";
import { EarlyExitError, describeExit } from "./launch.js";
import { SessionLogs, type LogsView } from "./logs.js";
import { answerLogs, type LogShape, type LogsAnswer } from "./log-answer.js";
import type { AppExit, AppProcess } from "./process.js";
import { SessionResources } from "./resources.js";
import { defaultRuntime } from "./runtime.js";
import { createLoggingReporter, explainFailure, logExecution, waitForAppService } from "./session-helpers.js";
import { runStartPhases } from "./start-phases.js";
import { buildSessionInfo, canTransition, notifyStatusListeners, type StatusListener } from "./status.js";
import type { ExecuteResult, SessionDeps, SessionInfo, SessionRuntime, SessionStartOptions, SessionStatus, StartConfig } from "./types.js";

export type { StatusListener };

export class Session {
  readonly id: string;
  private status: SessionStatus = "starting";
  private error: string | undefined;
  private readonly createdAt = new Date().toISOString();
  private readonly logs: SessionLogs;
  private readonly listeners = new Set<StatusListener>();
  private readonly abort = new AbortController();
  private readonly started: Promise<void>;
  private settleStarted!: (error?: unknown) => void;
  private readonly ended: Promise<SessionInfo>;
  private settleEnded!: (info: SessionInfo) => void;
  private entryPoint: string;
  private env: EnvResult | undefined;
  private readonly held: SessionResources;
  private exitInfo: AppExit | undefined;
  private startCalled = false;
  private stopping: Promise<void> | undefined;
  private channelError: Error | undefined;

  constructor(
    private readonly deps: SessionDeps,
    private readonly config: StartConfig,
    private readonly runtime: SessionRuntime = defaultRuntime,
  ) {
    this.id = config.id;
    this.entryPoint = config.entry_point ?? "main.py";
    this.logs = new SessionLogs(deps.logLimits);
    this.held = new SessionResources(deps.workingRoot, deps.stopGraceMs);
    registerSecret(config.token);
    this.started = new Promise<void>((resolve, reject) => {
      this.settleStarted = (error) => (error === undefined ? resolve() : reject(error));
    });
    this.started.catch(() => undefined);
    this.ended = new Promise((resolve) => (this.settleEnded = resolve));
  }

  info(): SessionInfo {
    return buildSessionInfo({
      config: this.config,
      status: this.status,
      entryPoint: this.entryPoint,
      createdAt: this.createdAt,
      env: this.env,
      exit: this.exitInfo,
      services: this.held.bridge ? this.held.bridge.registeredServices() : this.held.lastServices,
      error: this.error,
    });
  }

  /** The app's exit, once it exited. */
  exit(): AppExit | undefined {
    return this.exitInfo;
  }

  /** get_logs in `shape`; line lists (the seed's view) by default, for local callers. */
  getLogs(type?: string | null, offset?: number | null, limit?: number | null, shape: LogShape = "seed"): LogsAnswer | LogsView {
    return answerLogs(this.logs, type, offset, limit, shape);
  }

  /** Subscribes to status changes; returns the unsubscribe function. */
  onStatusChange(listener: StatusListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once the session is `running`; rejects if it failed or was stopped before. */
  whenStarted(): Promise<void> {
    return this.started;
  }

  /** Resolves with the final info once the session is completed, failed or stopped. */
  whenEnded(): Promise<SessionInfo> {
    return this.ended;
  }

  /** Resolves once the entry point's top-level code returned (the app may keep serving). */
  async whenMainDone(): Promise<void> {
    await this.started;
    // An app that already ended has certainly returned from its entry point.
    if (this.held.bridge) await Promise.race([this.held.bridge.mainDone, this.ended]);
  }

  /** Resolves once the app registered service `id`; rejects on timeout or when the app ends first. */
  async waitForService(id: string, timeoutMs: number): Promise<void> {
    await this.started;
    await waitForAppService(this.held.bridge, this.ended, this.info(), id, timeoutMs);
  }

  callService(serviceId: string, method: string, args: unknown[]): Promise<unknown> {
    return this.requireBridge().callService(serviceId, method, args);
  }

  async execute(code: string, timeoutMs: number): Promise<ExecuteResult> {
    if (this.status !== "running") {
      throw new SessionError("E_EXECUTE", `Session ${this.id} is ${this.status}, not running; execute needs a running app.`);
    }
    const result = await this.requireBridge().execute(code, timeoutMs);
    logExecution(this.logs, result);
    return result;
  }

  /** Runs every start phase; resolves when the app is running, rejects (status failed) on any failure. */
  async start(opts: SessionStartOptions = {}): Promise<void> {
    if (this.startCalled) throw new SessionError("E_SESSION_EXISTS", `Session ${this.id} was already started; use a new session id.`);
    this.startCalled = true;
    const progress = createLoggingReporter(this.logs, opts);
    try {
      await this.runPhases(progress, opts);
      this.setStatus("running");
      const proc = this.held.proc!;
      progress.report("running", "success", `App ${this.config.app_id} is running (pid ${proc.pid}).`);
      this.settleStarted();
      this.watchExit(proc);
      // The channel may have broken between the handshake and now.
      if (this.channelError) void this.failRunning(this.channelError);
    } catch (error) {
      await this.failStart(progress, error);
      throw this.stopping ? new SessionError("E_SESSION", `Session ${this.id} was stopped while starting.`, { cause: error }) : error;
    }
  }

  /** SIGTERM → grace → SIGKILL to the app's process group; releases everything; idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.performStop();
    return this.stopping;
  }

  private async performStop(): Promise<void> {
    if (this.status === "stopped") return;
    this.setStatus("stopping");
    this.logs.append("info", "Stopping the app.");
    this.abort.abort(new SessionError("E_SESSION", `Session ${this.id} was stopped.`));
    await this.releaseAll("session stopped");
    this.setStatus("stopped");
    this.settleStarted(new SessionError("E_SESSION", `Session ${this.id} was stopped.`));
    this.settleEnded(this.info());
    forgetSecret(this.config.token);
  }

  private runPhases(progress: ProgressReporter, opts: SessionStartOptions): Promise<void> {
    return runStartPhases({
      config: this.config,
      deps: this.deps,
      runtime: this.runtime,
      progress,
      opts,
      signal: this.abort.signal,
      held: this.held,
      log: (type, line) => this.logs.append(type, line),
      checkStopped: () => this.checkStopped(),
      onEntryPoint: (entry) => (this.entryPoint = entry),
      onEnv: (result) => (this.env = result),
      onChannelError: (error) => {
        this.channelError = error;
        void this.failRunning(error);
      },
      onSpawned: () => {
        if (this.stopping) void this.releaseAll("session stopped");
      },
    });
  }

  private async failStart(progress: ProgressReporter, error: unknown): Promise<void> {
    if (error instanceof EarlyExitError) this.exitInfo = error.exit;
    if (this.stopping) {
      // Whatever the start acquired after the stop began is released here.
      await this.releaseAll("session stopped");
      await this.stopping;
      return;
    }
    this.recordFailure(error);
    progress.report("failed", "error", this.error!);
    this.settleStarted(error);
    await this.end("start failed");
  }

  /** The bridge channel broke while running (e.g. garbage on fd 3): the app can no longer serve, so the session fails. */
  private async failRunning(error: Error): Promise<void> {
    if (this.stopping || this.status !== "running") return;
    this.recordFailure(error);
    await this.end("bridge channel failed");
  }

  private watchExit(proc: AppProcess): void {
    void proc.exited.then(async (exit) => {
      this.exitInfo = exit;
      if (this.stopping || this.status !== "running") return;
      if (exit.code === 0) {
        this.logs.append("info", "The app exited with code 0.");
        this.setStatus("completed");
      } else {
        this.recordFailure(new SessionError("E_SESSION", `The app exited with ${describeExit(exit)}.`));
      }
      await this.end(`app exited with ${describeExit(exit)}`);
    });
  }

  /** The session failed with `error`: its text (with the stderr tail) becomes the error and is logged. */
  private recordFailure(error: unknown): void {
    this.error = explainFailure(error, this.logs, this.exitInfo !== undefined);
    this.logs.appendText("error", this.error);
    this.setStatus("failed");
  }

  /** Releases everything and settles whenEnded() for a completed or failed session. */
  private async end(reason: string): Promise<void> {
    await this.releaseAll(reason);
    this.endWith();
  }

  /** Releases whatever the session holds; problems are logged, never thrown. */
  private async releaseAll(reason: string): Promise<void> {
    for (const problem of await this.held.releaseAll(reason)) {
      this.logs.append("error", `Cleanup problem (${problem}).`);
      this.deps.logger.warn(`session ${this.id}: cleanup problem (${problem})`);
    }
  }

  private setStatus(next: SessionStatus): void {
    if (!canTransition(this.status, next)) return;
    this.status = next;
    this.deps.logger.debug(`session ${this.id}: ${next}`);
    notifyStatusListeners(this.listeners, next, this.info(), (error) =>
      this.deps.logger.warn(`session ${this.id}: a status listener failed: ${describeError(error)}`),
    );
  }

  private endWith(): void {
    if (this.status === "completed" || this.status === "failed") this.settleEnded(this.info());
  }

  private checkStopped(): void {
    if (this.stopping) throw new SessionError("E_SESSION", `Session ${this.id} was stopped while starting.`);
  }

  private requireBridge(): BridgeHost {
    if (!this.held.bridge) throw new SessionError("E_SESSION", `Session ${this.id} has no live app (status ${this.status}).`);
    return this.held.bridge;
  }
}
