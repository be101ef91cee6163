/**
 * The worker's own connection to Hypha: connect with the worker's token, register the worker service,
 * and stay registered. A failed first connection is retried like a lost one (back-off with jitter, each
 * attempt logged) until it succeeds, a permanent error, or the attempt bound (connect-retry.ts).
 * hypha-rpc already reconnects (exponential backoff) and re-registers the services
 * of a live client when the socket drops; it gives up for good only when the server refuses the
 * reconnection (e.g. a restarted server that no longer knows the reconnection token). A watchdog notices
 * that and builds a fresh connection, re-registering the same service. Sessions are never touched.
 */
import { describeError } from "../errors.js";
import { silentLogger, type Logger } from "../logger.js";
import type { CondaWorker } from "../worker/conda-worker.js";
import { connectToHypha, type HyphaConnectOptions, type HyphaServer } from "./connect.js";
import { DEFAULT_CONNECT_POLICY, HyphaConnectError, backoffDelayMs, classifyConnectFailure, connectFailureError, displayUrl, type ConnectRetryPolicy } from "./connect-retry.js";
import { insecureConnectOptions } from "./insecure-websocket.js";
import { registerWorkerService, type RegisteredWorkerService, type WorkerServiceOptions } from "./service.js";

export interface WorkerConnectionOptions {
  serverUrl: string;
  workspace?: string;
  /** The worker's token (registered with redact by the caller; never given to apps). */
  token?: string;
  clientId?: string;
  disableSsl?: boolean;
  service: WorkerServiceOptions;
  logger?: Logger;
  /** How often the watchdog checks that hypha-rpc has not given up (default 2 s). */
  watchIntervalMs?: number;
  /** Delay before the first fresh-connection attempt; doubles up to maxReconnectDelayMs. */
  reconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
  /** Retries of the first connection (default 12 attempts, 1 s doubling to 30 s, with jitter). */
  firstConnect?: Partial<ConnectRetryPolicy>;
  /** Source of the back-off jitter (tests). */
  random?: () => number;
  /** Replaces connectToHypha (tests). */
  connect?: (options: HyphaConnectOptions) => Promise<HyphaServer>;
}

/** True when hypha-rpc closed the connection for good (it will not reconnect by itself any more). */
export function isConnectionClosedForGood(server: HyphaServer): boolean {
  const rpc = (server as { rpc?: { _connection?: { _closed?: boolean } | null } }).rpc;
  if (!rpc) return false;
  return rpc._connection === null || rpc._connection?._closed === true;
}

export class WorkerConnection {
  private server: HyphaServer | undefined;
  private registered: RegisteredWorkerService | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private rebuilding: Promise<void> | undefined;
  private closed = false;
  /** Ends the rebuild loop's back-off sleep early (close). */
  private wake: (() => void) | undefined;
  private readonly logger: Logger;
  private readonly listeners = new Set<(serviceId: string) => void>();
  /** Number of fresh connections built after hypha-rpc gave up. */
  rebuilds = 0;

  constructor(private readonly worker: CondaWorker, private readonly options: WorkerConnectionOptions) {
    this.logger = options.logger ?? silentLogger;
  }

  /** The full service id (`workspace/client:service`) once registered. */
  get serviceId(): string | undefined {
    return this.registered?.id;
  }

  /** The live hypha-rpc connection (undefined while rebuilding). */
  get connection(): HyphaServer | undefined {
    return this.server;
  }

  /** Calls `listener(serviceId)` after every (re-)registration, including hypha-rpc's own. */
  onRegistered(listener: (serviceId: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Connects and registers; resolves with the service id. Temporary failures are retried; a rejected
   * token, a bad URL or the last allowed attempt throws a HyphaConnectError saying which.
   */
  async start(): Promise<string> {
    await this.connectFirstTime();
    this.watchTimer = setInterval(() => this.checkConnection(), this.options.watchIntervalMs ?? 2_000);
    this.watchTimer.unref();
    return this.registered!.id;
  }

  /** Unregisters the service and disconnects; stops the watchdog. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.watchTimer) clearInterval(this.watchTimer);
    this.watchTimer = undefined;
    this.wake?.();
    await this.rebuilding?.catch(() => undefined);
    const server = this.server;
    const registered = this.registered;
    this.server = undefined;
    this.registered = undefined;
    if (registered) await registered.unregister().catch((e) => this.logger.debug(`unregister failed: ${describeError(e)}`));
    if (server) await server.disconnect().catch((e) => this.logger.debug(`disconnect failed: ${describeError(e)}`));
  }

  private async connectFirstTime(): Promise<void> {
    const policy: ConnectRetryPolicy = { ...DEFAULT_CONNECT_POLICY, ...this.options.firstConnect };
    const url = displayUrl(this.options.serverUrl);
    const bound = policy.attempts > 0 ? `/${policy.attempts}` : "";
    for (let attempt = 1; !this.closed; attempt += 1) {
      let failed: { error: unknown } | undefined;
      try {
        await this.connectAndRegister();
      } catch (error) {
        failed = { error };
      }
      if (this.closed) break;
      if (!failed) {
        if (attempt > 1) this.logger.info(`connected to ${url} on attempt ${attempt}${bound}`);
        return;
      }
      const failure = classifyConnectFailure(failed.error);
      if (failure.kind !== "transient" || (policy.attempts > 0 && attempt >= policy.attempts)) {
        const fatal = connectFailureError(failure, url, attempt, failed.error);
        this.logger.error(`connection attempt ${attempt}${bound} to ${url} failed: ${failure.detail}; giving up (${fatal.kind})`);
        throw fatal;
      }
      const delay = backoffDelayMs(attempt, policy, this.options.random);
      this.logger.warn(`connection attempt ${attempt}${bound} to ${url} failed: ${failure.detail}; retrying in ${(delay / 1000).toFixed(1)} s`);
      await this.sleep(delay);
    }
    // close() ran meanwhile: undo a connection the last attempt may have made.
    await this.close();
    throw new HyphaConnectError("closed", `Stopped before the connection to ${url} was established.`, undefined);
  }

  /** Waits `ms`, or less when close() is called. */
  private async sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wake = undefined;
  }

  private async connectAndRegister(): Promise<void> {
    const o = this.options;
    const connect = o.connect ?? connectToHypha;
    const server = await connect({
      server_url: o.serverUrl,
      ...(o.workspace ? { workspace: o.workspace } : {}),
      ...(o.token ? { token: o.token } : {}),
      ...(o.clientId ? { client_id: o.clientId } : {}),
      ...(o.disableSsl ? insecureConnectOptions() : {}),
    });
    try {
      const registered = await registerWorkerService(server, this.worker, o.service);
      this.server = server;
      this.registered = registered;
      server.on?.("services_registered", () => {
        if (this.server === server) this.notify(`re-registered ${registered.id} after a reconnect`);
      });
      this.notify(`registered ${registered.id}`);
    } catch (error) {
      await server.disconnect().catch(() => undefined);
      throw error;
    }
  }

  private notify(message: string): void {
    this.logger.info(message);
    const id = this.registered?.id;
    if (id) for (const listener of this.listeners) listener(id);
  }

  private checkConnection(): void {
    if (this.closed || this.rebuilding || !this.server || !isConnectionClosedForGood(this.server)) return;
    this.logger.warn("the Hypha connection was closed for good; reconnecting with a fresh connection (sessions keep running)");
    this.rebuilding = this.rebuild().finally(() => {
      this.rebuilding = undefined;
    });
  }

  private async rebuild(): Promise<void> {
    const old = this.server;
    this.server = undefined;
    this.registered = undefined;
    await old?.disconnect().catch(() => undefined);
    // Sessions are running: a lost connection is retried for ever (a permanent error is only logged).
    const policy: ConnectRetryPolicy = { attempts: 0, initialDelayMs: this.options.reconnectDelayMs ?? 1_000, maxDelayMs: this.options.maxReconnectDelayMs ?? 30_000 };
    for (let attempt = 1; !this.closed; attempt += 1) {
      try {
        await this.connectAndRegister();
        this.rebuilds += 1;
        return;
      } catch (error) {
        const failure = classifyConnectFailure(error);
        const delay = backoffDelayMs(attempt, policy, this.options.random);
        const kind = failure.kind === "transient" ? "" : ` [${failure.kind}]`;
        this.logger.warn(`reconnect attempt ${attempt} failed${kind} (${failure.detail}); retrying in ${(delay / 1000).toFixed(1)} s`);
        await this.sleep(delay);
      }
    }
  }
}

/** Connects `worker` to Hypha and registers it; returns the live connection (`close()` to stop serving). */
export async function serveWorker(worker: CondaWorker, options: WorkerConnectionOptions): Promise<WorkerConnection> {
  const connection = new WorkerConnection(worker, options);
  await connection.start();
  return connection;
}
