/**
 * The Hypha worker API over Sessions. Methods take the REAL caller's context (already resolved by the
 * service layer, see authorize.ts); a call without a context is an in-process call by the embedding
 * program and is trusted.
 */
import { MANIFEST_TYPES } from "../env/spec/manifest.js";
import { ConfigError, SessionError, WorkerError, describeError } from "../errors.js";
import type { CallContext } from "../hypha/calling-convention.js";
import type { ServicePresence } from "../hypha/service-presence.js";
import { silentLogger, type Logger } from "../logger.js";
import { redact } from "../redact.js";
import type { EnvSpec } from "../env/types.js";
import type { ExecuteResult, SessionDeps, SessionInfo } from "../session/types.js";
import { prepareWorkspaceDir } from "../session/working-dir.js";
import { DEFAULT_LOG_SHAPE } from "../session/log-answer.js";
import { LOG_FILTERS } from "../session/logs.js";
import { assertMayStart, assertOperator, assertSessionAccess, assertWorkspaceAccess, resolveCaller } from "./authorize.js";
import { DEFAULT_LOG_LIMITS, DEFAULT_START_TIMEOUT_S, DEFAULT_STOP_GRACE_MS } from "./options.js";
import { createProgressForwarder } from "./progress-forwarder.js";
import { validateStartConfig } from "./start-config.js";
import { compileForWorker, type CompileFile } from "./compile.js";
import { waitUntilAppIsUp } from "./wait-until-up.js";
import { notFound, optionalInt, requireString } from "./arguments.js";
import { createDefaultSession, defaultServiceMode } from "./defaults.js";
import { DEFAULT_RETAINED_FAILED_STARTS, FailedStartRetention } from "./failed-starts.js";
import { runWithExecuteCallbacks, type ExecuteCallbacks } from "./execute-callbacks.js";

export type { CondaWorkerOptions, SessionFactory, WorkerSession } from "./worker-types.js";
import type { CondaWorkerOptions, SessionFactory, WorkerSession } from "./worker-types.js";

const PROGRESS_FLUSH_MS = 3_000;
const LIVE: ReadonlySet<SessionInfo["status"]> = new Set(["starting", "running"]);

export class CondaWorker {
  readonly supported_types = [...MANIFEST_TYPES];
  readonly name = "Conda Environment Worker (Node)";
  readonly description = "Runs conda-python and conda-jupyter-kernel Hypha apps in hashed, cached, locked conda environments";
  private readonly sessions = new Map<string, WorkerSession>();
  private readonly stopping = new Map<string, Promise<void>>();
  /** Ids between the duplicate check and the session object existing. */
  private readonly reserved = new Set<string>();
  private readonly logger: Logger;
  private readonly deps: SessionDeps;
  private readonly createSession: SessionFactory;
  private shuttingDown = false;
  private workerWorkspace: string | undefined;
  private servicePresence: ServicePresence | undefined;
  private readonly failedStarts: FailedStartRetention;

  constructor(private readonly options: CondaWorkerOptions) {
    this.logger = options.logger ?? silentLogger;
    const env = options.env;
    this.deps = {
      env,
      specOptions: {
        channelMap: env.options.channelMap,
        defaultChannels: env.options.defaultChannels,
        allowPipOptions: env.options.allowPipOptions,
        ...(env.options.allowedChannels ? { allowedChannels: env.options.allowedChannels } : {}),
        ...(env.options.lockMismatch ? { lockMismatch: env.options.lockMismatch } : {}),
      },
      workingRoot: options.workingDir,
      serviceMode: options.serviceMode ?? defaultServiceMode(),
      passEnv: options.passEnv ?? {},
      logLimits: options.logLimits ?? DEFAULT_LOG_LIMITS,
      stopGraceMs: options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS,
      logger: this.logger.child("session"),
    };
    this.createSession = options.createSession ?? createDefaultSession;
    this.workerWorkspace = options.workerWorkspace;
    this.servicePresence = options.servicePresence;
    this.failedStarts = new FailedStartRetention(options.retainFailedStarts ?? DEFAULT_RETAINED_FAILED_STARTS, (id) => {
      const held = this.sessions.get(id);
      if (held) void this.stopSession(id, held).catch((error: unknown) => this.logger.warn(`dropping failed session ${id}: ${describeError(error)}`));
    });
  }

  /** Sets the workspace the service was registered in (known only after connecting). */
  setWorkerWorkspace(workspace: string): void {
    this.workerWorkspace = workspace;
  }

  /** Sets how `start` asks the server for an app's service (the worker's own connection; replaced after a rebuild). */
  setServicePresence(presence: ServicePresence | undefined): void {
    this.servicePresence = presence;
  }

  /** Starts an app; resolves with the session id once it is up (see waitUntilAppIsUp). */
  async start(config: unknown, context?: CallContext): Promise<string> {
    const caller = resolveCaller(undefined, context);
    const validated = validateStartConfig(config, this.options.defaultStartTimeoutS ?? DEFAULT_START_TIMEOUT_S);
    const { config: startConfig } = validated;
    assertMayStart(caller, startConfig.workspace, this.options.authorizedWorkspaces);
    if (this.shuttingDown) throw new SessionError("E_SESSION", "The worker is shutting down and accepts no new sessions; start the app on another worker.");
    if (this.sessions.has(startConfig.id)) {
      throw new SessionError("E_SESSION_EXISTS", `Session '${startConfig.id}' already exists on this worker; stop it first or start with a new client_id.`);
    }
    if (this.reserved.has(startConfig.id)) {
      throw new SessionError("E_SESSION_EXISTS", `Session '${startConfig.id}' is already starting on this worker; use a new client_id.`);
    }
    const forwarder = createProgressForwarder(validated.progressCallback, this.options.progressCallbackTimeoutMs ?? 10_000, this.logger);
    this.reserved.add(startConfig.id);
    let session: WorkerSession;
    try {
      session = await this.createSession(this.deps, startConfig);
    } finally {
      this.reserved.delete(startConfig.id);
    }
    this.sessions.set(startConfig.id, session);
    this.logger.info(`starting session ${startConfig.id} (app ${startConfig.app_id})`);
    try {
      await session.start({ onProgress: forwarder.sink });
      const warn = (message: string) => {
        this.logger.warn(message);
        forwarder.sink({ phase: "running", type: "warning", message, elapsed: 0 });
      };
      await waitUntilAppIsUp(session, startConfig, validated.waitForService, warn, undefined, this.servicePresence);
      this.logger.info(`session ${startConfig.id} is ${session.info().status}`);
      // The callback lives only as long as this call: deliver what is queued (bounded) before returning.
      await forwarder.flush(PROGRESS_FLUSH_MS);
      return startConfig.id;
    } catch (error) {
      await forwarder.flush(PROGRESS_FLUSH_MS);
      this.logger.warn(`session ${startConfig.id} failed to start: ${describeError(error)}`);
      if (this.sessions.get(startConfig.id) === session) this.failedStarts.add(startConfig.id);
      if (error instanceof WorkerError) throw error;
      throw new SessionError("E_LAUNCH", `Failed to start app '${startConfig.app_id}': ${redact(describeError(error))}`, { cause: error });
    }
  }

  /** Stops a session; an unknown or already stopped id is fine (the server calls stop twice). */
  async stop(session_id: unknown, context?: CallContext): Promise<void> {
    const id = requireString(session_id, "session_id", "stop");
    const session = this.sessions.get(id);
    assertSessionAccess(resolveCaller(undefined, context), id, session?.info().workspace);
    if (!session) return this.stopping.get(id);
    return this.stopSession(id, session);
  }

  private stopSession(id: string, session: WorkerSession): Promise<void> {
    this.failedStarts.remove(id);
    let pending = this.stopping.get(id);
    if (!pending) {
      pending = session
        .stop()
        .finally(() => {
          if (this.sessions.get(id) === session) this.sessions.delete(id);
          this.stopping.delete(id);
        });
      this.stopping.set(id, pending);
    }
    return pending;
  }

  async list_sessions(workspace: unknown, context?: CallContext): Promise<SessionInfo[]> {
    const ws = requireString(workspace, "workspace", "list_sessions");
    assertWorkspaceAccess(resolveCaller(undefined, context), ws, "list_sessions");
    return [...this.sessions.values()].map((s) => s.info()).filter((info) => info.workspace === ws);
  }

  async get_session_info(session_id: unknown, context?: CallContext): Promise<SessionInfo> {
    const id = requireString(session_id, "session_id", "get_session_info");
    const session = this.sessions.get(id);
    assertSessionAccess(resolveCaller(undefined, context), id, session?.info().workspace);
    if (!session) throw notFound(id);
    return session.info();
  }

  async get_logs(session_id: unknown, type?: unknown, offset?: unknown, limit?: unknown, context?: CallContext): Promise<unknown> {
    const id = requireString(session_id, "session_id", "get_logs");
    const session = this.sessions.get(id);
    assertSessionAccess(resolveCaller(undefined, context), id, session?.info().workspace);
    if (type !== undefined && type !== null && type !== "" && !LOG_FILTERS.includes(type as string)) {
      throw new ConfigError(`get_logs: type must be one of ${LOG_FILTERS.join(", ")} (or omitted for every entry).`);
    }
    const from = optionalInt(offset, "offset", 0);
    const count = optionalInt(limit, "limit", 0);
    if (!session) throw notFound(id);
    return session.getLogs((type || undefined) as string | undefined, from, count, this.options.logShape ?? DEFAULT_LOG_SHAPE);
  }

  async prepare_workspace(workspace: unknown, context?: CallContext): Promise<void> {
    const ws = requireString(workspace, "workspace", "prepare_workspace");
    assertWorkspaceAccess(resolveCaller(undefined, context), ws, "prepare_workspace");
    await prepareWorkspaceDir(this.options.workingDir, ws);
  }

  async close_workspace(workspace: unknown, context?: CallContext): Promise<void> {
    const ws = requireString(workspace, "workspace", "close_workspace");
    assertWorkspaceAccess(resolveCaller(undefined, context), ws, "close_workspace");
    const targets = [...this.sessions.entries()].filter(([, s]) => s.info().workspace === ws);
    await this.stopAll(targets);
  }

  /** Install-time compile: validates the manifest and pins its env (see compile.ts). */
  async compile(manifest: unknown, files: unknown, config?: unknown, context?: CallContext): Promise<[Record<string, unknown>, CompileFile[]]> {
    const caller = resolveCaller(undefined, context);
    if (caller.workspace) assertMayStart(caller, caller.workspace, this.options.authorizedWorkspaces);
    const env = this.deps.env;
    const lockSpec = env.options.lockAtInstall === false ? undefined : (spec: EnvSpec) => env.lockSpec(spec);
    return compileForWorker(manifest, files, config, this.deps.specOptions, lockSpec);
  }

  /** Runs code in a running app's namespace. `config.timeout` is in seconds (default 30); callbacks as upstream's. */
  async execute(session_id: unknown, script: unknown, config?: unknown, context?: CallContext, callbacks: ExecuteCallbacks = {}): Promise<ExecuteResult> {
    const id = requireString(session_id, "session_id", "execute");
    const session = this.sessions.get(id);
    assertSessionAccess(resolveCaller(undefined, context), id, session?.info().workspace);
    if (typeof script !== "string") throw new ConfigError("execute: 'script' must be a string of Python code.");
    const rawTimeout = config && typeof config === "object" ? (config as Record<string, unknown>).timeout : undefined;
    if (rawTimeout !== undefined && (typeof rawTimeout !== "number" || !(rawTimeout > 0))) {
      throw new ConfigError("execute: config.timeout must be a positive number of seconds.");
    }
    if (!session) throw notFound(id);
    return runWithExecuteCallbacks(callbacks, this.logger, () => session.execute(script, ((rawTimeout as number | undefined) ?? 30) * 1000));
  }

  /** Stops every session and refuses new ones. `context` is checked when given (remote callers). */
  async shutdown(context?: CallContext): Promise<void> {
    assertOperator(resolveCaller(undefined, context), this.workerWorkspace, "shutdown");
    this.shuttingDown = true;
    await this.stopAll([...this.sessions.entries()]);
  }

  /**
   * What Hypha's `select:min:get_load` compares: the sessions holding this host's resources now. Starts
   * count from the moment they arrive (fetching, building or waiting for an env is the costliest phase,
   * and the next start is placed while it runs), then running sessions; completed, failed (kept only for
   * their logs), stopping and stopped ones do not.
   */
  get_load(): number {
    return this.reserved.size + [...this.sessions.values()].filter((s) => LIVE.has(s.info().status)).length;
  }

  /** Session ids currently held (any status). */
  sessionIds(): string[] {
    return [...this.sessions.keys()];
  }

  private async stopAll(entries: Array<[string, WorkerSession]>): Promise<void> {
    const results = await Promise.allSettled(entries.map(([id, s]) => this.stopSession(id, s)));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed.length > 0) {
      throw new SessionError("E_SESSION", `${failed.length} session(s) failed to stop cleanly: ${failed.map((f) => describeError(f.reason)).join("; ")}`);
    }
  }
}
