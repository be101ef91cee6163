/**
 * The workspace manager: an RPC peer at `*` + `/<manager_id>` implemented with hypha-rpc's own RPC class over
 * an in-process connection. Its `default` service is what `connectToServer` returns to clients: the methods
 * of hypha 0.21.135's workspace interface (hypha/core/workspace.py `create_service`), with upstream's
 * parameter names and Python's calling convention (positional and keyword arguments mix, as the real
 * server's do). Every method gets the caller's context (`ws`, `from`, `user`) that the router put in the message.
 */
import { hyphaWebsocketClient } from "hypha-rpc";
import { installKwargsAdapter, wrapMethod } from "../../../src/hypha/calling-convention.js";
import {
  ServiceRegistry,
  canAccess,
  parseServiceId,
  parseServiceQuery,
  permissionDeniedMessage,
  type ServiceQuery,
  type ServiceRecord,
} from "./registry.js";
import type { IssueTokenOptions, TokenClaims, UserInfo } from "./tokens.js";
import { workspaceMethods, type ManagerMethods } from "./workspace-methods.js";
import type { WorkspaceStore } from "./workspaces.js";

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
  /** The claims of a valid token; throws with the reason otherwise. */
  verifyToken(token: string): TokenClaims;
  /** Workspace records, env, service types and the event log (kept across restarts, like Redis). */
  workspaces: WorkspaceStore;
}

interface RpcLike {
  on(event: string, handler: (...args: unknown[]) => void): void;
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
    // The real manager is Python: a call may mix positional and keyword arguments.
    installKwargsAdapter(this.rpc, "default");
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
    const service: Record<string, unknown> = {
      id: "default",
      name: "Workspace Manager",
      description: "Services for managing workspace.",
      type: "workspace-manager",
      config: { visibility: "public", require_context: true },
    };
    const methods: ManagerMethods = { ...this.serviceMethods(), ...workspaceMethods(this.host) };
    for (const [name, method] of Object.entries(methods)) {
      service[name] = wrapMethod({ name, params: method.params }, (call) => method.impl(call.params, call.rpcContext as CallerContext));
    }
    return service;
  }

  /** Registering, finding and listing services, and event subscriptions. */
  private serviceMethods(): ManagerMethods {
    const host = this.host;
    const rpc = this.rpc;
    const resolve = this.resolve.bind(this);
    return {
      register_service: {
        params: ["service", "config"],
        impl: ({ service: given }, context) => {
          const service = given as ServiceRecord | undefined;
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
          // As upstream: a client's built-in service records the whole user, other services the user id.
          const createdBy = id.endsWith(":built-in") && service.type === "built-in" ? { ...context.user } : { id: context.user?.id };
          const record: ServiceRecord = { ...service, id, config: { ...(service.config ?? {}), workspace: context.ws, created_by: createdBy } };
          const existed = host.registry.get(id) !== undefined;
          host.registry.put(record);
          host.emitEvent(context.ws, existed ? "service_updated" : "service_added", { id, type: record.type ?? "generic" });
        },
      },
      unregister_service: {
        params: ["service_id"],
        impl: ({ service_id }, context) => {
          const id = qualifyOwnServiceId(String(service_id), context.from);
          if (id.split(":")[0] !== context.from) throw new Error(`Permission denied: client ${context.from} cannot unregister ${id}`);
          if (!host.registry.remove(id)) throw new Error(`Service not found: ${id}`);
          host.emitEvent(context.ws, "service_removed", { id });
        },
      },
      get_service: {
        params: ["service_id", "config"],
        impl: async ({ service_id, config }, context) => {
          const record = resolve(service_id, context, config as GetConfig);
          const options = config as GetConfig;
          const timeout = typeof options?.timeout === "number" ? options.timeout : 10;
          const svc = await rpc.get_remote_service(record.id, { timeout, _no_retry: true });
          return { ...svc, id: record.id };
        },
      },
      get_service_info: {
        params: ["service_id", "config"],
        impl: ({ service_id, config }, context) => ({ ...resolve(service_id, context, config as GetConfig) }),
      },
      list_services: {
        params: ["query", "include_unlisted", "include_app_services"],
        impl: ({ query }, context) => listServices(host.registry, query, context),
      },
      subscribe: {
        params: ["event_type"],
        impl: ({ event_type }, context) => {
          const events = Array.isArray(event_type) ? event_type.map(String) : [String(event_type)];
          for (const event of events) checkSubscription(event, context.ws);
          host.subscribe(context.from, events);
          return true;
        },
      },
      unsubscribe: {
        params: ["event_type"],
        impl: ({ event_type }, context) => {
          host.unsubscribe(context.from, Array.isArray(event_type) ? event_type.map(String) : [String(event_type)]);
          return true;
        },
      },
    };
  }
}

const SYSTEM_EVENTS = new Set(["service_added", "service_removed", "service_updated", "client_connected", "client_disconnected", "client_updated",
  "workspace_loaded", "workspace_deleted", "workspace_changed", "workspace_ready", "workspace_unloaded", "workspace_status_changed"]);

/** hypha's _validate_event_subscription: system events, or events that name no other workspace. */
function checkSubscription(event: string, workspace: string): void {
  if (SYSTEM_EVENTS.has(event)) return;
  const named = event.includes("/") ? event.split("/")[0] : event.startsWith("ws-") ? event.split(":")[0] : undefined;
  if (named !== undefined && named !== workspace) {
    throw new Error(`Subscription to event '${event}' is forbidden. Event workspace '${named}' does not match your workspace '${workspace}'. Clients can only subscribe to events within their own workspace or system events.`);
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
