/**
 * The service registry: what clients registered, how `get_service` / `list_services` queries match, and
 * the visibility rules (`protected` = same workspace or `authorized_workspaces`; `public`; `unlisted`).
 */
export interface ServiceRecord {
  /** `ws/client:service`. */
  id: string;
  name?: string;
  type?: string;
  description?: string;
  config: { visibility?: string; authorized_workspaces?: string[]; require_context?: unknown; workspace?: string; [key: string]: unknown };
  app_id?: string;
  service_schema?: unknown;
  docs?: unknown;
  [key: string]: unknown;
}

export interface ServiceQuery {
  workspace: string;
  /** "*" = any client. */
  clientId: string;
  /** "*" = any service. */
  serviceId: string;
  type?: string;
}

/** Splits `ws/client:service` into its three parts. */
export function parseServiceId(id: string): { workspace: string; clientId: string; serviceId: string } {
  const [owner, serviceId = ""] = splitOnce(id, ":");
  const [workspace, clientId = ""] = splitOnce(owner, "/");
  return { workspace, clientId, serviceId };
}

function splitOnce(text: string, sep: string): [string, string | undefined] {
  const at = text.indexOf(sep);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

/**
 * Parses the id forms `get_service` accepts: `ws/client:svc`, `client:svc`, `ws/svc`, bare `svc`
 * (an `@app_id` suffix is ignored), or an object `{id, workspace, client_id, service_id, type}`.
 */
export function parseServiceQuery(query: unknown, callerWorkspace: string): ServiceQuery {
  if (typeof query === "object" && query !== null) {
    const q = query as Record<string, unknown>;
    if (typeof q.id === "string") return { ...parseServiceQuery(q.id, callerWorkspace), ...(typeof q.type === "string" ? { type: q.type } : {}) };
    return {
      workspace: typeof q.workspace === "string" ? q.workspace : callerWorkspace,
      clientId: typeof q.client_id === "string" ? q.client_id : "*",
      serviceId: typeof q.service_id === "string" ? q.service_id : "*",
      ...(typeof q.type === "string" ? { type: q.type } : {}),
    };
  }
  if (typeof query !== "string" || query.length === 0) throw new Error(`Invalid service query: ${JSON.stringify(query)}`);
  const bare = query.split("@")[0] as string;
  const [owner, svc] = splitOnce(bare, ":");
  if (svc !== undefined) {
    const [ws, client] = splitOnce(owner, "/");
    return client === undefined ? { workspace: callerWorkspace, clientId: ws, serviceId: svc } : { workspace: ws, clientId: client, serviceId: svc };
  }
  const [ws, svcOnly] = splitOnce(bare, "/");
  return svcOnly === undefined ? { workspace: callerWorkspace, clientId: "*", serviceId: ws } : { workspace: ws, clientId: "*", serviceId: svcOnly };
}

/** True when a caller from `callerWorkspace` may use the service. */
export function canAccess(record: ServiceRecord, callerWorkspace: string): boolean {
  const { workspace } = parseServiceId(record.id);
  const visibility = record.config.visibility ?? "protected";
  if (visibility === "public" || visibility === "unlisted") return true;
  if (workspace === callerWorkspace) return true;
  return Array.isArray(record.config.authorized_workspaces) && record.config.authorized_workspaces.includes(callerWorkspace);
}

/** The refusal text of the real stack for a protected service reached from another workspace. */
export function permissionDeniedMessage(record: ServiceRecord, callerWorkspace: string): string {
  const { workspace, serviceId } = parseServiceId(record.id);
  return `Permission denied for getting protected service: ${serviceId}, workspace mismatch: ${workspace} != ${callerWorkspace}`;
}

export class ServiceRegistry {
  private readonly services = new Map<string, ServiceRecord>();

  /** Adds or replaces a service (re-registration after reconnect replaces). */
  put(record: ServiceRecord): void {
    this.services.set(record.id, record);
  }

  /** Removes one service; returns it when it existed. */
  remove(id: string): ServiceRecord | undefined {
    const record = this.services.get(id);
    this.services.delete(id);
    return record;
  }

  /** Removes every service of client `ws/client`; returns them. */
  removeClient(fullClientId: string): ServiceRecord[] {
    const gone = [...this.services.values()].filter((r) => r.id.startsWith(`${fullClientId}:`));
    for (const record of gone) this.services.delete(record.id);
    return gone;
  }

  get(id: string): ServiceRecord | undefined {
    return this.services.get(id);
  }

  /** All services matching a query, in registration order. */
  find(query: ServiceQuery): ServiceRecord[] {
    return [...this.services.values()].filter((record) => {
      const id = parseServiceId(record.id);
      if (query.workspace !== "*" && id.workspace !== query.workspace) return false;
      if (query.clientId !== "*" && id.clientId !== query.clientId) return false;
      if (query.serviceId !== "*" && id.serviceId !== query.serviceId) return false;
      return query.type === undefined || record.type === query.type;
    });
  }

  clear(): void {
    this.services.clear();
  }
}
