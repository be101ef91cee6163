/**
 * The workspace manager: an RPC peer at `*` + `/<manager_id>` implemented with hypha-rpc's own RPC class over
 * an in-process connection. Its `default` service is what `connectToServer` returns to clients.
 * Every method gets the caller's context (`ws`, `from`, `user`) that the router put in the message.
 */
import { hyphaWebsocketClient } from "hypha-rpc";
import {
  ServiceRegistry,
  canAccess,
  parseServiceId,
  parseServiceQuery,
  permissionDeniedMessage,
  type ServiceQuery,
  type ServiceRecord,
} from "./registry.js";
import type { IssueTokenOptions, UserInfo } from "./tokens.js";

export interface CallerContext {
  ws: string;
  from: string;
  to?: string;
  user?: UserInfo;
  [key: string]: unknown;
}

/** What the manager needs from the server around it. */
export interface ManagerHost {
  registry: ServiceRegistry;
  /** Routes a frame the manager emits. */
  routeFromManager(frame: Uint8Array): void;
  /** Pushes an event to subscribers of `workspace`. */
  emitEvent(workspace: string, type: string, data: Record<string, unknown>): void;
  subscribe(fullClientId: string, events: string[]): void;
  unsubscribe(fullClientId: string, events: string[]): void;
  isConnected(fullClientId: string): boolean;
  listClients(workspace: string): string[];
  issueToken(options: IssueTokenOptions): string;
}

interface RpcLike {
  add_service(api: Record<string, unknown>, overwrite?: boolean): unknown;
  get_remote_service(uri: string, config?: Record<string, unknown>): Promise<Record<string, unknown>>;
  close(): void;
}

type GetConfig = { mode?: string; timeout?: number } | undefined;

export class WorkspaceManager {
  private handler: ((data: Uint8Array) => void) | undefined;
  private readonly rpc: RpcLike;

  constructor(readonly managerId: string, private readonly host: ManagerHost, serverUrl: string) {
    const connection = {
      manager_id: managerId,
      emit_message: async (data: Uint8Array) => host.routeFromManager(data),
      on_message: (handler: (data: Uint8Array) => void) => {
        this.handler = handler;
      },
      on_connected: () => undefined,
      on_disconnected: () => undefined,
      disconnect: async () => undefined,
    };
    const RPC = hyphaWebsocketClient.RPC as unknown as new (conn: unknown, options: Record<string, unknown>) => RpcLike;
    // silent: the manager is the server side; it must not look for a manager of its own.
    this.rpc = new RPC(connection, { client_id: managerId, workspace: "*", silent: true, logger: null, method_timeout: 30, server_base_url: serverUrl });
    this.rpc.add_service(this.buildService(), true);
  }

  /** Hands a routed frame to the manager's RPC. */
  deliver(frame: Uint8Array): void {
    this.handler?.(frame);
  }

  close(): void {
    this.rpc.close();
  }

  /** Resolves a query to one accessible service record (the manager's own permission check). */
  resolve(query: unknown, caller: CallerContext, config: GetConfig): ServiceRecord {
    const parsed: ServiceQuery = parseServiceQuery(query, caller.ws);
    const candidates = this.host.registry.find(parsed);
    if (candidates.length === 0) throw new Error(`Service not found: ${describeQuery(query)}`);
    const accessible = candidates.filter((record) => canAccess(record, caller.ws));
    if (accessible.length === 0) throw new Error(permissionDeniedMessage(candidates[0] as ServiceRecord, caller.ws));
    const mode = config?.mode ?? "random";
    if (mode === "exact" && accessible.length > 1) {
      throw new Error(`Multiple services found for ${describeQuery(query)}: ${accessible.map((r) => r.id).join(", ")}; pass config.mode 'first', 'last' or 'random'`);
    }
    if (mode === "first" || mode === "exact") return accessible[0] as ServiceRecord;
    if (mode === "last") return accessible[accessible.length - 1] as ServiceRecord;
    if (mode !== "random") throw new Error(`Invalid mode: ${mode}; use 'random', 'first', 'last' or 'exact'`);
    return accessible[Math.floor(Math.random() * accessible.length)] as ServiceRecord;
  }

  /** A proxy of a registered service, called from the manager's own client (the HTTP routes use it). */
  remoteService(id: string, timeoutS = 10): Promise<Record<string, unknown>> {
    return this.rpc.get_remote_service(id, { timeout: timeoutS, _no_retry: true });
  }

  private buildService(): Record<string, unknown> {
    const host = this.host;
    const rpc = this.rpc;
    const resolve = this.resolve.bind(this);
    // Parameter names matter: hypha-rpc maps keyword arguments onto them (Python callers use kwargs).
    return {
      id: "default",
      name: "Workspace Manager",
      description: "Workspace manager of the Hypha test server",
      type: "workspace-manager",
      config: { visibility: "public", require_context: true },
      async register_service(service: ServiceRecord, config: unknown, context: CallerContext) {
        if (!service || typeof service.id !== "string") throw new Error("Invalid service: an object with an id is required");
        const id = qualifyOwnServiceId(service.id, context.from);
        const owner = id.split(":")[0];
        if (owner !== context.from) throw new Error(`Permission denied: client ${context.from} cannot register a service for ${owner}`);
        const visibility = service.config?.visibility ?? "protected";
        if (!["protected", "public", "unlisted"].includes(String(visibility))) throw new Error(`Invalid visibility: ${String(visibility)}`);
        // hypha/core/workspace.py register_service: authorized_workspaces only with protected visibility.
        if (service.config?.authorized_workspaces !== undefined && service.config.authorized_workspaces !== null && visibility !== "protected") {
          throw new Error(`authorized_workspaces can only be set when visibility is 'protected', got visibility='${String(visibility)}'`);
        }
        const record: ServiceRecord = { ...service, id, config: { ...(service.config ?? {}), workspace: context.ws } };
        const existed = host.registry.get(id) !== undefined;
        host.registry.put(record);
        host.emitEvent(context.ws, existed ? "service_updated" : "service_added", { id, type: record.type ?? "generic" });
        void config;
      },
      async unregister_service(service_id: string, notify: unknown, context: CallerContext) {
        const id = qualifyOwnServiceId(String(service_id), context.from);
        if (id.split(":")[0] !== context.from) throw new Error(`Permission denied: client ${context.from} cannot unregister ${id}`);
        if (!host.registry.remove(id)) throw new Error(`Service not found: ${id}`);
        host.emitEvent(context.ws, "service_removed", { id });
        void notify;
      },
      async get_service(query: unknown, config: GetConfig, context: CallerContext) {
        const record = resolve(query, context, config);
        const timeout = typeof config?.timeout === "number" ? config.timeout : 10;
        const svc = await rpc.get_remote_service(record.id, { timeout, _no_retry: true });
        return { ...svc, id: record.id };
      },
      async get_service_info(query: unknown, config: GetConfig, context: CallerContext) {
        return { ...resolve(query, context, config) };
      },
      async list_services(query: unknown, context: CallerContext) {
        return listServices(host.registry, query, context);
      },
      async subscribe(events: string | string[], context: CallerContext) {
        host.subscribe(context.from, Array.isArray(events) ? events : [events]);
      },
      async unsubscribe(events: string | string[], context: CallerContext) {
        host.unsubscribe(context.from, Array.isArray(events) ? events : [events]);
      },
      async echo(data: unknown, context: CallerContext) {
        void context;
        return data;
      },
      async check_client(client_id: string, context: CallerContext) {
        return host.isConnected(String(client_id).includes("/") ? String(client_id) : `${context.ws}/${client_id}`);
      },
      async list_clients(workspace: string | undefined, context: CallerContext) {
        const ws = workspace ?? context.ws;
        if (ws !== context.ws && context.user?.id !== "root") throw new Error(`Permission denied for workspace: ${ws}`);
        return host.listClients(ws);
      },
      async generate_token(config: { workspace?: string; client_id?: string; expires_in?: number } | undefined, context: CallerContext) {
        const workspace = config?.workspace ?? context.ws;
        if (workspace !== context.ws && context.user?.id !== "root") {
          throw new Error(`Permission denied: cannot generate a token for workspace ${workspace} from workspace ${context.ws}`);
        }
        return host.issueToken({
          workspace,
          userId: context.user?.id ?? "anonymous",
          ...(config?.client_id ? { clientId: config.client_id } : {}),
          ...(typeof config?.expires_in === "number" ? { expiresInS: config.expires_in } : {}),
        });
      },
    };
  }
}

function describeQuery(query: unknown): string {
  return typeof query === "string" ? query : JSON.stringify(query);
}

/** `svc` or `client:svc` registered by `ws/client` → `ws/client:svc`. */
function qualifyOwnServiceId(id: string, from: string): string {
  if (!id.includes(":")) return `${from}:${id}`;
  const [owner, svc] = [id.slice(0, id.indexOf(":")), id.slice(id.indexOf(":") + 1)];
  if (owner.includes("/")) return id;
  return `${from.split("/")[0]}/${owner}:${svc}`;
}

/** list_services: own workspace sees everything; other workspaces only what the caller may access and is not unlisted. */
function listServices(registry: ServiceRegistry, query: unknown, context: CallerContext): ServiceRecord[] {
  let parsed: ServiceQuery;
  if (query === undefined || query === null) parsed = { workspace: context.ws, clientId: "*", serviceId: "*" };
  else if (typeof query === "string" && !query.includes("/") && !query.includes(":")) parsed = { workspace: query, clientId: "*", serviceId: "*" };
  else parsed = parseServiceQuery(query, context.ws);
  return registry
    .find(parsed)
    .filter((record) => {
      if (parseServiceId(record.id).workspace === context.ws) return true;
      return record.config.visibility !== "unlisted" && canAccess(record, context.ws);
    })
    .map((record) => ({ ...record }));
}
