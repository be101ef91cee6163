/**
 * Who is really calling, and may they touch this workspace's sessions?
 *
 * The Hypha server calls workers from its internal client (workspace `public`, user `root`) and names the
 * real caller in the `context` keyword. That keyword is just an argument, so anybody could send one: it is
 * trusted ONLY when hypha-rpc's own context (filled in by the server from the authenticated connection)
 * says the direct caller is that internal client. Every other caller is who hypha-rpc says it is.
 */
import { PermissionError } from "../errors.js";
import type { CallContext } from "../hypha/calling-convention.js";

/** The server's internal client, as the upstream server presents it. */
export const SERVER_CLIENT_WORKSPACE = "public";
export const SERVER_CLIENT_USER = "root";

/** The resolved caller of a worker method. */
export interface Caller {
  /** Workspace the caller acts in; undefined only for trusted callers. */
  workspace?: string;
  userId?: string;
  /** `ws/client` of the direct caller, when known. */
  from?: string;
  /**
   * True for callers that may act on any workspace: the server's internal client acting for itself
   * (no `context` keyword), and in-process library calls made without a context.
   */
  trusted: boolean;
}

function userIdOf(context: CallContext | undefined): string | undefined {
  const user = context?.user;
  if (typeof user === "string") return user;
  if (user && typeof user === "object" && typeof user.id === "string") return user.id;
  return undefined;
}

/** True when hypha-rpc's context says the direct caller is the server's internal root client. */
export function isServerClient(rpcContext: CallContext | undefined): boolean {
  if (!rpcContext) return false;
  const fromWorkspace = typeof rpcContext.from === "string" ? rpcContext.from.split("/")[0] : undefined;
  const workspace = rpcContext.ws ?? fromWorkspace;
  return workspace === SERVER_CLIENT_WORKSPACE && (fromWorkspace === undefined || fromWorkspace === SERVER_CLIENT_WORKSPACE) && userIdOf(rpcContext) === SERVER_CLIENT_USER;
}

function callerFromContext(context: CallContext): Caller {
  const fromWorkspace = typeof context.from === "string" && context.from.includes("/") ? context.from.split("/")[0] : undefined;
  const workspace = typeof context.ws === "string" && context.ws ? context.ws : fromWorkspace;
  const userId = userIdOf(context);
  return {
    ...(workspace ? { workspace } : {}),
    ...(userId ? { userId } : {}),
    ...(typeof context.from === "string" ? { from: context.from } : {}),
    trusted: false,
  };
}

/**
 * Derives the real caller. `rpcContext` comes from hypha-rpc (undefined for in-process calls);
 * `callerContext` is the `context` argument the caller passed.
 */
export function resolveCaller(rpcContext: CallContext | undefined, callerContext: CallContext | undefined): Caller {
  if (!rpcContext) {
    // In-process library call: the embedding program states the caller itself, or acts as the operator.
    return callerContext ? callerFromContext(callerContext) : { trusted: true };
  }
  if (isServerClient(rpcContext)) {
    if (callerContext && (typeof callerContext.ws === "string" || typeof callerContext.from === "string")) {
      return callerFromContext(callerContext);
    }
    return { trusted: true, userId: SERVER_CLIENT_USER, ...(typeof rpcContext.from === "string" ? { from: rpcContext.from } : {}) };
  }
  return callerFromContext(rpcContext);
}

function describe(caller: Caller): string {
  return caller.workspace ? `workspace '${caller.workspace}'` : "a caller without a workspace";
}

/** Returns the workspace a session id (`workspace/client_id`) belongs to, or undefined if malformed. */
export function workspaceOfSessionId(sessionId: string): string | undefined {
  const slash = sessionId.indexOf("/");
  return slash > 0 ? sessionId.slice(0, slash) : undefined;
}

/**
 * Refuses access to a session of another workspace. Decided from the id (and the session's workspace when
 * it exists), so the error is the same whether or not the session exists.
 */
export function assertSessionAccess(caller: Caller, sessionId: string, sessionWorkspace?: string): void {
  if (caller.trusted) return;
  const idWorkspace = workspaceOfSessionId(sessionId);
  if (!caller.workspace || idWorkspace !== caller.workspace || (sessionWorkspace !== undefined && sessionWorkspace !== caller.workspace)) {
    throw new PermissionError(
      `Permission denied: session '${sessionId}' is not accessible from ${describe(caller)}. ` +
        "Sessions can only be listed, read, stopped or executed from the workspace that started them; connect to that workspace.",
    );
  }
}

/** Refuses operations on a workspace the caller is not in (list_sessions, prepare/close_workspace). */
export function assertWorkspaceAccess(caller: Caller, workspace: string, operation: string): void {
  if (caller.trusted) return;
  if (caller.workspace !== workspace) {
    throw new PermissionError(
      `Permission denied: ${operation} for workspace '${workspace}' was requested from ${describe(caller)}. ` +
        "A caller may only act on its own workspace; connect with a token for that workspace.",
    );
  }
}

/**
 * Refuses a start (or compile) for a workspace the caller is not in, or one the operator did not
 * authorize with --authorized-workspaces.
 */
export function assertMayStart(caller: Caller, workspace: string, authorizedWorkspaces: readonly string[] | undefined): void {
  assertWorkspaceAccess(caller, workspace, "starting an app");
  if (authorizedWorkspaces && authorizedWorkspaces.length > 0 && !authorizedWorkspaces.includes(workspace)) {
    throw new PermissionError(
      `Permission denied: workspace '${workspace}' is not authorized to run apps on this worker. ` +
        "The operator can add it to --authorized-workspaces (HYPHA_CONDA_AUTHORIZED_WORKSPACES).",
    );
  }
}

/** Refuses worker-wide operations (shutdown) to anybody but trusted callers and the worker's own workspace. */
export function assertOperator(caller: Caller, workerWorkspace: string | undefined, operation: string): void {
  if (caller.trusted) return;
  if (workerWorkspace === undefined || caller.workspace !== workerWorkspace) {
    throw new PermissionError(
      `Permission denied: ${operation} may only be called by the Hypha server or from the worker's own workspace, not from ${describe(caller)}.`,
    );
  }
}
