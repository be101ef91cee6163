/**
 * The worker's own connection to Hypha: connect with the worker's token, register the worker service,
 * and stay registered. hypha-rpc already reconnects (exponential backoff) and re-registers the services
 * of a live client when the socket drops; it gives up for good only when the server refuses the
 * reconnection (e.g. a restarted server that no longer knows the reconnection token). A watchdog notices
 * that and builds a fresh connection, re-registering the same service. Sessions are never touched.
 */
import { describeError } from "../errors.js";
import { silentLogger, type Logger } from "../logger.js";
import type { CondaWorker } from "../worker/conda-worker.js";
import { connectToHypha, type HyphaConnectOptions, type HyphaServer } from "./connect.js";
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

  /** Connects and registers; resolves with the service id. A first failure is thrown (bad URL, token...). */
  async start(): Promise<string> {
    await this.connectAndRegister();
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
    let delay = this.options.reconnectDelayMs ?? 1_000;
    const maxDelay = this.options.maxReconnectDelayMs ?? 30_000;
    while (!this.closed) {
      try {
        await this.connectAndRegister();
        this.rebuilds += 1;
        return;
      } catch (error) {
        this.logger.warn(`reconnect failed (${describeError(error)}); retrying in ${Math.round(delay / 1000)} s`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
        delay = Math.min(delay * 2, maxDelay);
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
