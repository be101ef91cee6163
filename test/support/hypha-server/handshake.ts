/**
 * The first frame of a connection: `{client_id, workspace, token, reconnection_token}` → who the client
 * is and where it lives, or the refusal text the real server sends (`Failed to establish connection: ...`).
 */
import { TokenAuthority, anonymousUser, userFromClaims, type TokenClaims, type UserInfo } from "./tokens.js";

export interface AuthFrame {
  client_id?: unknown;
  workspace?: unknown;
  token?: unknown;
  reconnection_token?: unknown;
}

export type HandshakeResult =
  | { ok: true; user: UserInfo; workspace: string; clientId: string }
  | { ok: false; message: string };

const CLIENT_ID_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;
const WORKSPACE_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;

const refuse = (reason: string): HandshakeResult => ({ ok: false, message: `Failed to establish connection: ${reason}` });
const optionalString = (value: unknown): string | undefined => (typeof value === "string" && value.length > 0 ? value : undefined);

/** Decides whether a client may connect; `isActive` tells whether `ws/client` is already connected. */
export function authenticateConnection(frameText: string, authority: TokenAuthority, isActive: (fullClientId: string) => boolean): HandshakeResult {
  let frame: AuthFrame;
  try {
    frame = JSON.parse(frameText) as AuthFrame;
  } catch {
    return refuse("Failed to decode authentication information");
  }
  const clientId = optionalString(frame.client_id);
  const requested = optionalString(frame.workspace);
  if (!clientId || !CLIENT_ID_PATTERN.test(clientId)) return refuse(`Invalid client id: ${String(frame.client_id)}`);
  if (requested !== undefined && !WORKSPACE_PATTERN.test(requested)) return refuse(`Invalid workspace name: ${requested}`);

  const reconnection = optionalString(frame.reconnection_token);
  const token = optionalString(frame.token);
  let user: UserInfo;
  let workspace: string;
  if (reconnection || token) {
    let claims: TokenClaims;
    try {
      claims = authority.verify((reconnection ?? token) as string);
    } catch (error) {
      return refuse(`Failed to authenticate user: ${(error as Error).message}`);
    }
    if (requested && requested !== claims.ws) {
      const detail = reconnection
        ? `Invalid scope, workspace mismatch: ${requested} != ${claims.ws}`
        : `Current workspace encoded in the token (${claims.ws}) does not match the specified workspace (${requested})`;
      return refuse(`Failed to authenticate user: ${detail}`);
    }
    if (claims.cid !== null && claims.cid !== clientId) {
      return refuse(`Failed to authenticate user: Client id mismatch, the token is scoped to client ${claims.cid}, not ${clientId}`);
    }
    workspace = claims.ws;
    user = userFromClaims(claims, clientId);
  } else {
    user = anonymousUser(clientId);
    workspace = user.scope.current_workspace;
    if (requested && requested !== workspace) return refuse(`Permission denied for workspace: ${requested}`);
  }
  if (isActive(`${workspace}/${clientId}`)) return refuse(`Client already exists and is active: ${workspace}/${clientId}`);
  return { ok: true, user, workspace, clientId };
}
