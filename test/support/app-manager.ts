/**
 * App-manager stand-in (mimics hypha/apps.py as reference/hypha-server.md describes): installs apps,
 * serves their files over HTTP, finds a `server-app-worker`, and calls it from the server's internal
 * client in workspace `public` with keyword arguments on the wire, exactly as the Python server does.
 */
import type { HyphaServer } from "../../src/hypha/connect.js";
import { connectInternalClient } from "./hypha-server/internal-client.js";
import { rootUser } from "./hypha-server/tokens.js";
import type { HyphaTestServer } from "./hypha-server/server.js";
import { applyCompileResult, filesForCompile, loadAppSource, manifestForWorker, sourceHash, type AppSource } from "./app-manager/app-source.js";
import { serveAppFiles, type FileRequest } from "./app-manager/file-server.js";
import {
  appClientId,
  buildStartConfig,
  callerContext,
  serviceToWaitFor,
  waitForService,
  type AppSession,
  type CallerContext,
  type CallerIdentity,
  type ProgressBehaviour,
} from "./app-manager/sessions.js";
import { coreError, itemsFromRecords, recordsFromItems } from "./app-manager/logs.js";
import { callWithKwargsOn, findWorker, listReachableWorkers, type RemoteService, type SelectionMode, type WorkerInfo } from "./app-manager/workers.js";

export type { AppSession, CallerIdentity, FileRequest, ProgressBehaviour, WorkerInfo };
export { logContents, type ItemsAnswer } from "./app-manager/logs.js";

export interface InstalledApp {
  app_id: string;
  workspace: string;
  manifest: Record<string, unknown>;
  files: Map<string, Buffer>;
  source_hash: string;
}

export interface InstallOptions extends CallerIdentity {
  appId?: string;
  /** `ws/client:service` of the worker; bypasses discovery. */
  workerId?: string;
  mode?: SelectionMode;
  /** Run upstream's verification start + stop (default true). */
  verify?: boolean;
  /** Call the worker's compile() when it defines one (default true); false needs no worker when verify is false too. */
  compile?: boolean;
  /** Seconds for the verification start. */
  timeout?: number;
}

export interface StartOptions extends CallerIdentity {
  /** Seconds; default manifest startup_config.timeout, else 60. */
  timeout?: number;
  wait_for_service?: string | boolean;
  workerId?: string;
  mode?: SelectionMode;
  clientId?: string;
  /** Test knob: the progress_callback records and then succeeds (default), throws, or answers late. */
  progress?: ProgressBehaviour;
  /** Test knob: lifetime of the app token in seconds (negative = already expired). */
  tokenExpiresInS?: number;
}

/** One call the stand-in made to a worker, as sent. */
export interface WorkerCall {
  workerId: string;
  method: string;
  positional: unknown[];
  kwargs: Record<string, unknown>;
}

export class AppManagerStandIn {
  readonly fileRequests: FileRequest[] = [];
  readonly calls: WorkerCall[] = [];
  /** Errors of stops sent in the background (on client_disconnected). */
  readonly backgroundErrors: Error[] = [];
  private readonly apps = new Map<string, InstalledApp>();
  private readonly sessions = new Map<string, AppSession>();
  private readonly background = new Set<Promise<void>>();
  private readonly cleanups: Array<() => void> = [];

  private constructor(readonly server: HyphaTestServer, readonly client: HyphaServer) {
    this.cleanups.push(serveAppFiles(server, (ws, appId) => this.apps.get(`${ws}/${appId}`)?.files, this.fileRequests));
    // Upstream sends stop again when the app's client disconnects.
    this.cleanups.push(server.onClientDisconnected(({ id }) => this.stopOnDisconnect(id)));
  }

  /** Connects the internal client (`public`, root) and serves app files on `server`. */
  static async create(server: HyphaTestServer): Promise<AppManagerStandIn> {
    return new AppManagerStandIn(server, await connectInternalClient(server));
  }

  async install(source: AppSource, options: InstallOptions = {}): Promise<InstalledApp> {
    const loaded = await loadAppSource(source);
    const context = callerContext(options);
    const type = loaded.manifest.type;
    if (typeof type !== "string" || type === "") throw new Error("The manifest has no 'type'; set e.g. type: conda-python");
    const appId = options.appId ?? (typeof loaded.manifest.id === "string" ? loaded.manifest.id : `app-${sourceHash(loaded.manifestText).slice(2, 12).toLowerCase()}`);
    const app: InstalledApp = { app_id: appId, workspace: context.ws, manifest: loaded.manifest, files: loaded.files, source_hash: sourceHash(loaded.manifestText) };
    const worker = options.compile === false && options.verify === false ? undefined : await this.pickWorker(type, context.ws, options);
    if (worker && options.compile !== false && typeof worker.compile === "function") {
      const manifest = manifestForWorker(app.manifest, { appId, workspace: context.ws, user: context.user, sourceHash: app.source_hash });
      const progress: unknown[] = [];
      const config = { app_id: appId, workspace: context.ws, progress_callback: (m: unknown) => void progress.push(m) };
      applyCompileResult(await this.callWorker(worker, "compile", [manifest, filesForCompile(app.files)], { config, context }), app);
    }
    this.apps.set(`${context.ws}/${appId}`, app);
    if (options.verify === false) return app;
    try {
      const session = await this.start(appId, { ...options, ...(options.timeout !== undefined ? { timeout: options.timeout } : {}), ...(worker ? { workerId: worker.id } : {}) });
      await this.stop(session.id);
    } catch (error) {
      this.apps.delete(`${context.ws}/${appId}`);
      throw new Error(`Failed to start the app: ${appId} during installation, error: ${(error as Error).message}`, { cause: error });
    }
    return app;
  }

  uninstall(appId: string, identity: CallerIdentity = {}): boolean {
    return this.apps.delete(`${callerContext(identity).ws}/${appId}`);
  }

  async start(appId: string, options: StartOptions = {}): Promise<AppSession> {
    const context = callerContext(options);
    const app = this.apps.get(`${context.ws}/${appId}`);
    if (!app) throw new Error(`App ${appId} is not installed in workspace ${context.ws}; install it first`);
    const manifest = manifestForWorker(app.manifest, { appId, workspace: context.ws, user: context.user, sourceHash: app.source_hash });
    const existing = this.runningInstance(appId, context.ws, manifest);
    if (existing) return existing;
    const worker = await this.pickWorker(String(manifest.type), context.ws, options);
    const clientId = options.clientId ?? appClientId();
    const startup = (manifest.startup_config ?? {}) as { timeout?: number };
    const timeoutS = options.timeout ?? startup.timeout ?? 60;
    const waitFor = serviceToWaitFor(options.wait_for_service, manifest);
    const session: AppSession = {
      id: `${context.ws}/${clientId}`,
      app_id: appId,
      workspace: context.ws,
      client_id: clientId,
      worker_id: worker.id,
      progress: [],
      context,
      worker,
      state: "starting",
    };
    const config = buildStartConfig({
      server: this.server,
      appId,
      clientId,
      context,
      manifest,
      timeoutS,
      progress: session.progress,
      ...(options.progress !== undefined ? { progressBehaviour: options.progress } : {}),
      ...(options.tokenExpiresInS !== undefined ? { tokenExpiresInS: options.tokenExpiresInS } : {}),
    });
    this.sessions.set(session.id, session);
    let started = false;
    try {
      session.start_result = await this.callWorker(worker, "start", [config], { context });
      started = true;
      session.recorded = true;
      // apps.py caches a python-eval app's logs in its records (its process has already ended).
      if (manifest.type === "python-eval") session.logs = recordsFromItems(await this.callWorker(worker, "get_logs", [session.id], { context }).catch(() => undefined));
      if (waitFor !== false) await waitForService(this.server, `${session.id}:${waitFor}`, timeoutS * 1000, () => !this.sessions.has(session.id));
      session.state = "running";
      return session;
    } catch (error) {
      // As apps.py: only a session whose start returned gets get_logs(session_id, context=) and stop();
      // a start that threw is never stopped. A failing get_logs/stop replaces the original error there too.
      this.sessions.delete(session.id);
      let logs: unknown = null;
      if (started) {
        logs = await this.callWorker(worker, "get_logs", [session.id], { context });
        await this.callWorker(worker, "stop", [session.id], { context });
      }
      throw new Error(`Failed to start app '${appId}', error: ${coreError(error, logs)}, logs:\n${JSON.stringify(logs)}`, { cause: error });
    }
  }

  /**
   * apps.py `start`: an app that is neither `singleton` nor `daemon` and has no `autoscaling.enabled`
   * gets its running instance in the workspace back instead of a new one; a singleton its instance in
   * any workspace. Only sessions whose start returned count (upstream stores them then), so starts made
   * at the same moment each get an instance.
   */
  private runningInstance(appId: string, workspace: string, manifest: Record<string, unknown>): AppSession | undefined {
    const recorded = [...this.sessions.values()].filter((s) => s.recorded && s.state !== "stopping" && s.app_id === appId);
    if (manifest.singleton === true) return recorded[0];
    const autoscaling = manifest.autoscaling as { enabled?: unknown } | null | undefined;
    if (manifest.daemon === true || autoscaling?.enabled === true) return undefined;
    return recorded.find((s) => s.workspace === workspace);
  }

  /** Stops a session (`workspace/client_id`) with `stop(session_id, context=...)`. */
  async stop(sessionId: string): Promise<void> {
    const session = this.sessions.get(sessionId);
    if (!session) throw new Error(`Session ${sessionId} is not running`);
    session.state = "stopping";
    try {
      await this.callWorker(session.worker, "stop", [sessionId], { context: session.context });
    } finally {
      // While the app's client is still connected, its disconnect will send the second stop.
      if (!this.server.router.isConnected(sessionId)) this.sessions.delete(sessionId);
    }
  }

  /**
   * apps.py get_logs: `get_logs(session_id, type=..., offset=..., limit=..., context=...)` (unset values go as
   * null like Python's None), the worker's answer returned unchanged; when the worker call fails, the logs
   * kept in the records (python-eval only) in 0.21.135's shape, else the worker's error.
   */
  async getLogs(sessionId: string, options: { type?: string; offset?: number; limit?: number } = {}): Promise<unknown> {
    const session = this.sessions.get(sessionId);
    if (!session) throw new Error(`Server app instance not found: ${sessionId}`);
    const kwargs = { type: options.type ?? null, offset: options.offset ?? 0, limit: options.limit ?? null, context: session.context };
    try {
      return await this.callWorker(session.worker, "get_logs", [sessionId], kwargs);
    } catch (error) {
      if (session.logs) return itemsFromRecords(session.logs, kwargs.type, kwargs.offset, kwargs.limit);
      throw error;
    }
  }

  listSessions(): AppSession[] {
    return [...this.sessions.values()];
  }

  /** Workers in `workspace` and `public` that the internal client can use. */
  async listWorkers(identity: CallerIdentity = {}): Promise<WorkerInfo[]> {
    return listReachableWorkers(this.server, this.client, callerContext(identity).ws);
  }

  /** Calls any service method the Python-server way (from the internal client, kwargs on the wire). */
  async callWithKwargs(serviceId: string, method: string, positional: unknown[], kwargs: Record<string, unknown>): Promise<unknown> {
    const service = (await this.client.getService(serviceId)) as RemoteService;
    return this.callWorker(service, method, positional, kwargs);
  }

  /** Calls a service method positionally (how JS clients and older servers call) from the internal client. */
  async callPositional(serviceId: string, method: string, args: unknown[]): Promise<unknown> {
    const service = (await this.client.getService(serviceId)) as RemoteService;
    const fn = service[method];
    if (typeof fn !== "function") throw new Error(`Service ${serviceId} has no method ${method}`);
    this.calls.push({ workerId: service.id, method, positional: args, kwargs: {} });
    return (fn as (...a: unknown[]) => Promise<unknown>)(...args);
  }

  /** The real caller's context for an identity (what goes in the `context` keyword). */
  contextFor(identity: CallerIdentity = {}): CallerContext {
    return callerContext(identity);
  }

  /** Waits until the stops sent on client_disconnected have been answered. */
  async settle(): Promise<void> {
    while (this.background.size > 0) await Promise.all([...this.background]);
  }

  async close(): Promise<void> {
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    await this.settle();
    await this.client.disconnect().catch(() => undefined);
  }

  private async pickWorker(type: string, workspace: string, options: { workerId?: string; mode?: SelectionMode }): Promise<RemoteService> {
    if (options.workerId) return (await this.client.getService(options.workerId)) as RemoteService;
    return findWorker(this.server, this.client, type, workspace, options.mode ?? "random");
  }

  private callWorker(worker: RemoteService, method: string, positional: unknown[], kwargs: Record<string, unknown>): Promise<unknown> {
    this.calls.push({ workerId: worker.id, method, positional, kwargs });
    return callWithKwargsOn(worker, method, positional, kwargs);
  }

  private stopOnDisconnect(clientFullId: string): void {
    const session = this.sessions.get(clientFullId);
    if (!session) return;
    this.sessions.delete(clientFullId);
    // apps.py's client_disconnected handler stops with {ws: <app workspace>, user: <root user>}, not the user's context.
    const context = { ws: session.workspace, user: rootUser("root") };
    const done = this.callWorker(session.worker, "stop", [clientFullId], { context })
      .then(() => undefined)
      .catch((error: Error) => void this.backgroundErrors.push(error))
      .finally(() => this.background.delete(done));
    this.background.add(done);
  }
}
