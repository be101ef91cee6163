/**
 * The workspace manager's token, workspace-lifecycle and bookmark methods, as hypha 0.21.135 has them
 * (`generate_token`, `revoke_token`, `parse_token`, `create_workspace`, `delete_workspace`, `bookmark`,
 * `unbookmark`): upstream's parameter names, results and refusal texts.
 */
import { userFromClaims, type IssueTokenOptions } from "./tokens.js";
import { permissionError, permissionOf, requirePermission, type WorkspaceInfo } from "./workspaces.js";
import type { CallerContext, ManagerHost } from "./manager.js";
import type { ManagerMethods } from "./workspace-methods.js";

const str = (value: unknown): string | undefined => (typeof value === "string" && value.length > 0 ? value : undefined);

export function adminMethods(host: ManagerHost, workspace: (ws: string) => WorkspaceInfo, userId: (context: CallerContext) => string): ManagerMethods {
  const store = host.workspaces;
  return {
    generate_token: {
      params: ["config"],
      impl: ({ config }, context) => {
        const options = (config ?? {}) as { workspace?: string; client_id?: string; expires_in?: number; permission?: string };
        const target = options.workspace ?? context.ws;
        const have = permissionOf(context.user, target);
        if (!have) throw permissionError(`You do not have any permission for workspace: ${target}`);
        if (have !== "a") throw permissionError("Only admin can generate token.");
        if (options.permission !== undefined && !["read", "read_write", "admin"].includes(options.permission)) {
          throw new Error(`Invalid permission: ${options.permission}; use read, read_write or admin`);
        }
        const issue: IssueTokenOptions = { workspace: target, userId: userId(context), expiresInS: options.expires_in || 3600 };
        if (options.client_id) issue.clientId = options.client_id;
        return host.issueToken(issue);
      },
    },
    revoke_token: {
      params: ["token"],
      impl: ({ token }, context) => {
        requirePermission(context.user, context.ws, "a");
        try {
          host.verifyToken(String(token));
        } catch (error) {
          throw new Error(`Invalid token: ${(error as Error).message}`);
        }
      },
    },
    parse_token: {
      params: ["token"],
      impl: ({ token }, context) => {
        requirePermission(context.user, context.ws, "r");
        const claims = host.verifyToken(String(token));
        return userFromClaims(claims, claims.cid ?? "");
      },
    },
    create_workspace: {
      params: ["config", "overwrite"],
      impl: ({ config, overwrite }, context) => {
        const fields = (config ?? {}) as Partial<WorkspaceInfo>;
        const id = str(fields.id) ?? str(fields.name);
        if (!id) throw new Error("Workspace config must include an 'id'");
        if (!/^[a-z0-9-|]*$/.test(id) || !id.includes("-")) throw new Error(`Invalid workspace name: ${id}, only lowercase letters, numbers and hyphens are allowed (with at least one hyphen).`);
        if (context.user?.is_anonymous) throw permissionError("Anonymous users are not allowed to create workspaces");
        if (store.has(id) && !overwrite) throw new Error(`Workspace already exists: ${id}`);
        return store.create({ ...fields, id, name: fields.name ?? id, owners: [...new Set([...(fields.owners ?? []), userId(context)])] });
      },
    },
    delete_workspace: {
      params: ["workspace"],
      impl: ({ workspace: ws }, context) => {
        const target = String(ws);
        const record = workspace(target);
        if (permissionOf(context.user, target) !== "a" && !record.owners.includes(userId(context))) throw permissionError(`Permission denied for workspace ${target}`);
        store.delete(target);
        host.emitEvent(target, "workspace_deleted", { id: target });
      },
    },
    bookmark: { params: ["item"], impl: ({ item }, context) => editBookmarks(workspace(`ws-user-${userId(context)}`), item, true) },
    unbookmark: { params: ["item"], impl: ({ item }, context) => editBookmarks(workspace(`ws-user-${userId(context)}`), item, false) },
  };
}

function editBookmarks(userWorkspace: WorkspaceInfo, item: unknown, add: boolean): void {
  const entry = item as { bookmark_type?: string; id?: string } | undefined;
  if (!entry?.bookmark_type) throw new Error("Bookmark type must be provided.");
  const bookmarks = ((userWorkspace.config.bookmarks ??= []) as Array<Record<string, unknown>>);
  const at = bookmarks.findIndex((b) => b.bookmark_type === entry.bookmark_type && b.id === entry.id);
  if (add && at < 0) bookmarks.push({ ...entry });
  if (!add && at >= 0) bookmarks.splice(at, 1);
}
