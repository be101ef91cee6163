/**
 * Where the services an app declares go: Hypha (registered as the app's own client, connected lazily
 * once) or a local registry (`run` without a server). Also answers the app's connect/get_service/
 * list_services requests.
 */
import { BridgeError } from "../errors.js";
import type { HyphaServer } from "../hypha/connect.js";
import { managerMethods } from "./manager-api.js";
import type { AppIdentity, ServiceMode } from "./types.js";

export interface ConnectRequest {
  server_url?: string;
  workspace?: string;
  client_id?: string;
  token?: string;
}

/** How long close() waits for Hypha to confirm unregister/disconnect before moving on. */
export const UNREGISTER_WAIT_MS = 2000;
const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

const trimSlash = (value: string) => value.replace(/\/+$/, "");

/** Fails when the app's connect_to_server config names another server, workspace, client or token. */
export function checkConnectRequest(identity: AppIdentity, request: ConnectRequest): void {
  const expected: Record<keyof ConnectRequest, string | undefined> = {
    server_url: identity.serverUrl,
    workspace: identity.workspace,
    client_id: identity.clientId,
    token: identity.token,
  };
  for (const key of Object.keys(expected) as Array<keyof ConnectRequest>) {
    const given = request[key];
    const want = expected[key];
    if (given === undefined || given === null || given === "" || want === undefined || want === "") continue;
    if (typeof given !== "string" || trimSlash(given) !== trimSlash(want)) {
      const shown = key === "token" ? "(hidden)" : JSON.stringify(given);
      const env = { server_url: "HYPHA_SERVER_URL", workspace: "HYPHA_WORKSPACE", client_id: "HYPHA_CLIENT_ID", token: "HYPHA_TOKEN" }[key];
      throw new BridgeError("E_BRIDGE", `connect_to_server: ${key} ${shown} does not match this app's session; pass os.environ["${env}"] (the worker connects the app as its own client)`);
    }
  }
}

export class AppServices {
  private server?: Promise<HyphaServer>;
  private readonly services = new Map<string, { full: string; service: Record<string, unknown> }>();
  private readonly waiters = new Set<{ id: string; resolve: () => void }>();
  private disconnecting: Promise<void> = Promise.resolve();
  connected = false;

  constructor(
    private readonly identity: AppIdentity,
    private readonly mode: ServiceMode,
    /** Runs once on each new Hypha connection of the app, before its services are registered. */
    private readonly onConnected: (server: HyphaServer) => void = () => {},
  ) {}

  /** Starts connecting to Hypha ahead of the app's first request; a failure is retried at that request. */
  preconnect(): void {
    if (this.mode.kind === "hypha") this.hypha().catch(() => undefined);
  }

  async connect(request: ConnectRequest): Promise<Record<string, unknown>> {
    checkConnectRequest(this.identity, request);
    this.connected = true;
    if (this.mode.kind === "local") {
      return { workspace: this.identity.workspace, client_id: this.identity.clientId, public_base_url: this.identity.serverUrl, server_url: this.identity.serverUrl, local: true };
    }
    const server = await this.hypha();
    const config = server.config;
    return {
      workspace: config.workspace, client_id: config.client_id, public_base_url: config.public_base_url ?? this.identity.serverUrl,
      server_url: this.identity.serverUrl, hypha_version: config.hypha_version ?? null, user: config.user ?? null,
      // Sent as function references: the app calls them like any service function.
      manager: managerMethods(server),
    };
  }

  /** The app's Hypha connection (connected on first use); undefined in local mode. */
  connection(): Promise<HyphaServer> | undefined {
    return this.mode.kind === "hypha" ? this.hypha() : undefined;
  }

  async register(service: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = service.id;
    if (typeof id !== "string" || !/^[A-Za-z0-9_.\-*]+$/.test(id)) {
      throw new BridgeError("E_BRIDGE", `register_service: service id ${JSON.stringify(id)} is invalid; use a short name like "default"`);
    }
    let info: Record<string, unknown>;
    if (this.mode.kind === "hypha") {
      const server = await this.hypha();
      info = { ...(await server.registerService(service, { overwrite: true })) };
    } else {
      info = { id: `${this.identity.workspace}/${this.identity.clientId}:${id}`, name: service.name ?? id, config: service.config ?? {} };
    }
    this.services.set(id, { full: String(info.id), service });
    for (const waiter of [...this.waiters]) if (waiter.id === id) waiter.resolve();
    return info;
  }

  async unregister(serviceId: string): Promise<void> {
    const short = this.shortId(serviceId);
    const entry = this.services.get(short);
    if (!entry) throw new BridgeError("E_BRIDGE", `unregister_service: this app has no service ${JSON.stringify(serviceId)}; registered: ${this.registered().join(", ") || "none"}`);
    this.services.delete(short);
    if (this.mode.kind === "hypha") await (await this.hypha()).unregisterService(entry.full);
  }

  async getService(serviceId: string, config: Record<string, unknown>): Promise<unknown> {
    if (this.mode.kind === "local") {
      throw new BridgeError("E_BRIDGE", `get_service(${JSON.stringify(serviceId)}): no Hypha server in local mode; start the app through a worker connected to Hypha to call other services`);
    }
    return (await this.hypha()).getService(serviceId, config);
  }

  async listServices(query: unknown): Promise<unknown> {
    if (this.mode.kind === "local") return [...this.services.values()].map((e) => ({ id: e.full, name: e.service.name ?? e.full }));
    return (await this.hypha()).listServices(query ?? {});
  }

  /** Unregisters everything and drops the Hypha connection (services disappear). Never throws; idempotent. */
  disconnect(): Promise<void> {
    this.connected = false;
    const pending = this.server;
    this.server = undefined;
    const entries = [...this.services.values()];
    this.services.clear();
    if (pending) this.disconnecting = this.dropConnection(pending, entries.map((e) => e.full));
    return this.disconnecting;
  }

  private async dropConnection(pending: Promise<HyphaServer>, fullIds: string[]): Promise<void> {
    try {
      const server = await pending;
      // Unregistering is a courtesy (disconnecting removes them too): never let a slow server hold up a stop.
      await Promise.race([Promise.allSettled(fullIds.map((id) => server.unregisterService(id))), delay(UNREGISTER_WAIT_MS)]);
      await Promise.race([server.disconnect(), delay(UNREGISTER_WAIT_MS)]);
    } catch {
      // The connection may already be gone; its services go with it.
    }
  }

  registered(): string[] {
    return [...this.services.keys()];
  }

  lookup(serviceId: string): Record<string, unknown> | undefined {
    return this.services.get(this.shortId(serviceId))?.service;
  }

  /** Resolves once `id` is registered; the caller adds its own timeout/close handling. */
  whenRegistered(id: string): { promise: Promise<void>; cancel: () => void } {
    if (this.services.has(id)) return { promise: Promise.resolve(), cancel: () => {} };
    let waiter!: { id: string; resolve: () => void };
    const promise = new Promise<void>((resolve) => {
      waiter = { id, resolve: () => { this.waiters.delete(waiter); resolve(); } };
      this.waiters.add(waiter);
    });
    return { promise, cancel: () => this.waiters.delete(waiter) };
  }

  private shortId(serviceId: string): string {
    const afterColon = serviceId.includes(":") ? serviceId.slice(serviceId.lastIndexOf(":") + 1) : serviceId;
    return afterColon.includes("/") ? afterColon.slice(afterColon.lastIndexOf("/") + 1) : afterColon;
  }

  private hypha(): Promise<HyphaServer> {
    if (this.mode.kind !== "hypha") throw new BridgeError("E_BRIDGE", "no Hypha server in local mode");
    if (!this.server) {
      const connect = this.mode.connect;
      this.server = connect(this.identity).then((server) => {
        this.onConnected(server);
        return server;
      }, (error: unknown) => {
        this.server = undefined;
        throw new BridgeError("E_HYPHA", `could not connect the app to Hypha as client ${this.identity.clientId}: ${(error as Error)?.message ?? String(error)}`, { cause: error });
      });
    }
    return this.server;
  }
}
