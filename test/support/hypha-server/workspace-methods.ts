/**
 * The workspace manager's methods beyond services and subscriptions, as hypha 0.21.135 exports them
 * (hypha/core/workspace.py `create_service`): names, parameter names, result shapes and refusal texts
 * modelled on upstream. `search_services` answers as a default server does (search not enabled).
 */
import type { ServiceRecord } from "./registry.js";
import { permissionOf, requirePermission, type ServiceTypeInfo } from "./workspaces.js";
import type { CallerContext, ManagerHost } from "./manager.js";
import { adminMethods } from "./admin-methods.js";

export interface ManagerMethod {
  /** Upstream's parameter names, in order, without `context`. */
  params: readonly string[];
  impl(params: Record<string, unknown>, context: CallerContext): unknown;
}
export type ManagerMethods = Record<string, ManagerMethod>;

const str = (value: unknown): string | undefined => (typeof value === "string" && value.length > 0 ? value : undefined);
const SERVICE_SUMMARY_FIELDS = ["id", "name", "type", "description", "config"];

export function workspaceMethods(host: ManagerHost): ManagerMethods {
  const store = host.workspaces;
  const exists = (ws: string) => store.has(ws) || host.listClients(ws).length > 0;
  const workspace = (ws: string) => store.get(ws, exists(ws));
  const userId = (context: CallerContext) => context.user?.id ?? "anonymous";
  const clientsOf = (ws: string) =>
    host.registry.find({ workspace: ws, clientId: "*", serviceId: "built-in" }).map((r) => ({ id: r.id.split(":")[0] as string, user: r.config.created_by ?? null }));

  return {
    echo: { params: ["data"], impl: ({ data }, context) => (requirePermission(context.user, context.ws, "rw"), data) },
    log: {
      params: ["msg"],
      impl: ({ msg }, context) => {
        requirePermission(context.user, context.ws, "rw");
        store.logEvent(context.ws, userId(context), "log", msg);
      },
    },
    log_event: {
      params: ["event_type", "data"],
      impl: ({ event_type, data }, context) => {
        requirePermission(context.user, context.ws, "rw");
        store.logEvent(context.ws, userId(context), String(event_type), data);
      },
    },
    get_event_stats: {
      params: ["event_type", "start_time", "end_time"],
      impl: (filter, context) => {
        requirePermission(context.user, context.ws, "r");
        const counts = new Map<string, number>();
        for (const event of store.findEvents(context.ws, userId(context), filter)) counts.set(event.event_type, (counts.get(event.event_type) ?? 0) + 1);
        return [...counts].map(([event_type, count]) => ({ event_type, count }));
      },
    },
    get_events: {
      params: ["event_type", "start_time", "end_time"],
      impl: (filter, context) => (requirePermission(context.user, context.ws, "r"), store.findEvents(context.ws, userId(context), filter)),
    },
    list_workspaces: {
      params: ["match", "offset", "limit"],
      impl: ({ match, offset, limit }, context) => {
        const from = typeof offset === "number" ? offset : 0;
        const count = typeof limit === "number" ? limit : 256;
        if (from < 0 || count <= 0) throw new Error("Offset must be >= 0 and limit must be > 0");
        workspace(context.ws);
        const wanted = (match ?? {}) as Record<string, unknown>;
        return store.list()
          .filter((w) => permissionOf(context.user, w.id) !== undefined || w.owners.includes(userId(context)))
          .filter((w) => Object.entries(wanted).every(([k, v]) => (w as unknown as Record<string, unknown>)[k] === v))
          .slice(from, from + count)
          .map((w) => ({ id: w.id, name: w.id, description: w.description, read_only: w.read_only, persistent: w.persistent, owners: w.owners }));
      },
    },
    search_services: {
      params: ["query", "filters", "limit", "offset", "return_fields", "order_by", "pagination", "include_unlisted"],
      impl: () => {
        throw new Error("Service search is not enabled.");
      },
    },
    list_clients: {
      params: ["workspace"],
      impl: ({ workspace: ws }, context) => {
        const target = str(ws) ?? context.ws;
        requirePermission(context.user, target, "r");
        return clientsOf(target);
      },
    },
    register_service_type: {
      params: ["type_info"],
      impl: ({ type_info }, context) => {
        requirePermission(context.user, context.ws, "rw");
        const info = type_info as ServiceTypeInfo;
        if (!info || typeof info.id !== "string" || typeof info.name !== "string" || typeof info.definition !== "object") {
          throw new Error("Invalid service type: id, name and definition are required");
        }
        const id = info.id.includes("/") ? info.id : `${context.ws}/${info.id}`;
        if (id.split("/")[0] !== context.ws) throw new Error(`Workspace mismatch: ${id.split("/")[0]} != ${context.ws}, you can only register service type in your own workspace.`);
        const record = workspace(context.ws);
        if (record.service_types[id]) throw new Error(`Service type already exists: ${id}`);
        record.service_types[id] = { description: null, config: {}, docs: null, ...info, id };
        return record.service_types[id];
      },
    },
    get_service_type: {
      params: ["type_id"],
      impl: ({ type_id }, context) => {
        const id = String(type_id).includes("/") ? String(type_id) : `${context.ws}/${String(type_id)}`;
        const found = workspace(id.split("/")[0] as string).service_types[id];
        if (!found) throw new Error(`Service type not found: ${String(type_id)}`);
        return found;
      },
    },
    ...adminMethods(host, workspace, userId),
    list_service_types: {
      params: ["workspace"],
      impl: ({ workspace: ws }, context) => {
        const target = str(ws) ?? context.ws;
        requirePermission(context.user, target, "r");
        return Object.values(workspace(target).service_types);
      },
    },
    get_workspace_info: {
      params: ["workspace"],
      impl: ({ workspace: ws }, context) => {
        const target = str(ws) ?? context.ws;
        requirePermission(context.user, target, "r");
        return structuredClone(workspace(target));
      },
    },
    get_summary: {
      params: [],
      impl: (_params, context) => {
        const info = workspace(context.ws);
        const clients = host.listClients(context.ws);
        const services = host.registry.find({ workspace: context.ws, clientId: "*", serviceId: "*" });
        return {
          name: info.name, description: info.description, client_count: clients.length, clients,
          service_count: services.length, services: services.map((s) => summaryOf(s)),
        };
      },
    },
    ping: {
      params: ["client_id", "timeout"],
      impl: ({ client_id }, context) => {
        const id = String(client_id).includes("/") ? String(client_id) : `${context.ws}/${String(client_id)}`;
        const target = id.split("/")[0] as string;
        if (target !== context.ws && !permissionOf(context.user, target)) return `Failed to ping client ${id}: Permission denied for workspace ${target}`;
        if (!host.isConnected(id)) throw new Error(`Failed to ping client ${id}: client not found`);
        return "pong";
      },
    },
    cleanup: {
      params: ["workspace", "timeout"],
      impl: ({ workspace: ws }, context) => {
        requirePermission(context.user, context.ws, "a");
        const target = str(ws) ?? context.ws;
        workspace(target);
        // Upstream removes clients that do not answer a ping; every connected test client answers.
        const stale = [...new Set(host.registry.find({ workspace: target, clientId: "*", serviceId: "*" }).map((r) => r.id.split(":")[0] as string))]
          .filter((client) => !host.isConnected(client));
        for (const client of stale) host.registry.removeClient(client);
        return stale.length > 0 ? { removed_clients: stale.map((c) => c.slice(c.indexOf("/") + 1)) } : {};
      },
    },
    check_status: {
      params: [],
      impl: (_params, context) => {
        requirePermission(context.user, context.ws, "r");
        const user_permission = permissionOf(context.user, context.ws) ?? null;
        if (!exists(context.ws)) return { status: "not_found", error: `Workspace ${context.ws} not found`, user_permission };
        const info = workspace(context.ws);
        return { status: info.status?.ready ? "ready" : "loading", errors: info.status?.errors ?? null, user_permission };
      },
    },
    set_env: {
      params: ["key", "value"],
      impl: ({ key, value }, context) => {
        requirePermission(context.user, context.ws, "rw");
        const config = workspace(context.ws).config;
        const environs = (config.environs ??= {}) as Record<string, unknown>;
        if (value === undefined || value === null) delete environs[String(key)];
        else environs[String(key)] = value;
        store.logEvent(context.ws, userId(context), value === undefined || value === null ? "env_removed" : "env_set", { key });
      },
    },
    get_env: {
      params: ["key"],
      impl: ({ key }, context) => {
        requirePermission(context.user, context.ws, "rw");
        const environs = (workspace(context.ws).config.environs ?? {}) as Record<string, unknown>;
        if (key === undefined || key === null) return { ...environs };
        if (!(String(key) in environs)) {
          const error = new Error(`Environment variable '${String(key)}' not found in workspace ${context.ws}`);
          error.name = "KeyError";
          throw error;
        }
        return environs[String(key)];
      },
    },
  };
}

function summaryOf(service: ServiceRecord): Record<string, unknown> {
  return Object.fromEntries(SERVICE_SUMMARY_FIELDS.filter((k) => k in service).map((k) => [k, service[k]]));
}
