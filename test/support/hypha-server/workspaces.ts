/**
 * Workspace records of the Hypha test server, shaped like hypha/core `WorkspaceInfo.model_dump()`: the
 * workspace env (`config.environs`), service types, bookmarks, and the event log that `log`/`log_event`
 * write and `get_events`/`get_event_stats` read. Permissions as hypha's UserInfo (`r`, `rw`, `a`).
 */
import type { UserInfo } from "./tokens.js";

export interface ServiceTypeInfo { id: string; name: string; definition: Record<string, unknown>; description?: string | null; config?: Record<string, unknown>; docs?: string | null }

export interface WorkspaceInfo {
  type: "workspace";
  id: string;
  name: string;
  description: string | null;
  persistent: boolean;
  owners: string[];
  read_only: boolean;
  icon: string | null;
  covers: string[] | null;
  docs: string | null;
  service_types: Record<string, ServiceTypeInfo>;
  config: Record<string, unknown>;
  status: { ready: boolean; errors?: Record<string, unknown> | null } | null;
}

export interface EventRecord { id: number; event_type: string; workspace: string; user_id: string; timestamp: string; data: unknown }

export type Permission = "r" | "rw" | "a";
const RANK: Record<Permission, number> = { r: 1, rw: 2, a: 3 };

/** The strongest permission `user` has on `workspace` (hypha's UserInfo.get_permission), or undefined. */
export function permissionOf(user: UserInfo | undefined, workspace: string): Permission | undefined {
  if (!user) return undefined;
  if (user.id === "root" || user.roles.includes("admin")) return "a";
  if (workspace === `ws-user-${user.id}` || (user.parent && workspace === `ws-user-${user.parent}`)) return "a";
  const levels = [user.scope.workspaces[workspace], user.scope.workspaces["*"]].filter((p): p is Permission => p === "r" || p === "rw" || p === "a");
  return levels.sort((a, b) => RANK[b] - RANK[a])[0];
}

/** Throws hypha's PermissionError text unless `user` has at least `level` on `workspace`. */
export function requirePermission(user: UserInfo | undefined, workspace: string, level: Permission): void {
  const have = permissionOf(user, workspace);
  if (!have || RANK[have] < RANK[level]) throw permissionError(`Permission denied for workspace ${workspace}`);
}

export function permissionError(message: string): Error {
  const error = new Error(message);
  error.name = "PermissionError";
  return error;
}

export class WorkspaceStore {
  private readonly workspaces = new Map<string, WorkspaceInfo>();
  private readonly events: EventRecord[] = [];

  /** The workspace record; one a client is connected to exists (hypha creates user workspaces on login). */
  get(id: string, exists: boolean): WorkspaceInfo {
    let info = this.workspaces.get(id);
    if (!info) {
      if (!exists) {
        const error = new Error(`Workspace not found: ${id}`);
        error.name = "KeyError";
        throw error;
      }
      info = this.create({ id, name: id, description: id.startsWith("ws-user-") ? `Auto-created workspace for ${id.slice("ws-user-".length)}` : null, owners: [] });
    }
    return info;
  }

  has(id: string): boolean {
    return this.workspaces.has(id);
  }

  create(fields: Partial<WorkspaceInfo> & { id: string }): WorkspaceInfo {
    const info: WorkspaceInfo = {
      type: "workspace", name: fields.id, description: null, persistent: false, owners: [], read_only: false, icon: null,
      covers: null, docs: null, service_types: {}, config: {}, ...fields, status: { ready: true, errors: null },
    };
    this.workspaces.set(info.id, info);
    return info;
  }

  delete(id: string): boolean {
    return this.workspaces.delete(id);
  }

  list(): WorkspaceInfo[] {
    return [...this.workspaces.values()];
  }

  logEvent(workspace: string, userId: string, eventType: string, data: unknown): void {
    if (eventType.includes(" ")) throw new Error("Event type must not contain spaces");
    this.events.push({ id: this.events.length + 1, event_type: eventType, workspace, user_id: userId, timestamp: new Date().toISOString(), data: data ?? null });
  }

  /** get_events: the caller's own events in its workspace, optionally by type and time range. */
  findEvents(workspace: string, userId: string, filter: { event_type?: unknown; start_time?: unknown; end_time?: unknown }): EventRecord[] {
    const from = typeof filter.start_time === "string" ? Date.parse(filter.start_time) : -Infinity;
    const to = typeof filter.end_time === "string" ? Date.parse(filter.end_time) : Infinity;
    return this.events.filter((e) => {
      if (e.workspace !== workspace || e.user_id !== userId) return false;
      if (typeof filter.event_type === "string" && e.event_type !== filter.event_type) return false;
      const at = Date.parse(e.timestamp);
      return at >= from && at <= to;
    }).map((e) => ({ ...e }));
  }
}
