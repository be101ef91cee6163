/**
 * Tokens of the Hypha test server: HS256 JWTs signed with a per-server secret (kept across restart),
 * shaped like the real server's, so redaction and "never log a token" checks see realistic values.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export interface UserInfo {
  id: string;
  roles: string[];
  is_anonymous: boolean;
  email: string | null;
  parent: string | null;
  scope: { current_workspace: string; workspaces: Record<string, string>; client_id: string | null };
  expires_at: number | null;
}

export interface TokenClaims {
  /** User id. */
  sub: string;
  /** The workspace the token is bound to. */
  ws: string;
  /** Client id the token is scoped to (app tokens are `cid:<client_id>`-scoped), or null. */
  cid: string | null;
  roles: string[];
  anon: boolean;
  /** "user" for issued tokens, "reconnection" for the ones the server hands out on connect. */
  kind: "user" | "reconnection";
  /** Expiry, seconds since the epoch. */
  exp: number;
}

export interface IssueTokenOptions {
  /** Workspace the token grants; default the user's own `ws-user-<userId>`. */
  workspace?: string;
  /** Binds the token to one client id, as app tokens are. */
  clientId?: string;
  /** Default: a fresh `user-<hex>` id. */
  userId?: string;
  roles?: string[];
  /** Lifetime in seconds; default one hour, as app tokens. Negative values make expired tokens. */
  expiresInS?: number;
}

const base64url = (data: Buffer | string): string => Buffer.from(data).toString("base64url");

/** Returns the personal workspace name the real server gives a user. */
export function userWorkspace(userId: string): string {
  return `ws-user-${userId}`;
}

/** Returns `prefix-<hex>` with `bytes` random bytes. */
export function randomId(prefix: string, bytes = 6): string {
  return `${prefix}-${randomBytes(bytes).toString("hex")}`;
}

export class TokenAuthority {
  private readonly secret = randomBytes(32);

  /** Issues a user token bound to a workspace (and optionally one client id). */
  issue(options: IssueTokenOptions = {}): string {
    const userId = options.userId ?? randomId("user");
    const claims: TokenClaims = {
      sub: userId,
      ws: options.workspace ?? userWorkspace(userId),
      cid: options.clientId ?? null,
      roles: options.roles ?? [],
      anon: false,
      kind: "user",
      exp: Math.floor(Date.now() / 1000) + (options.expiresInS ?? 3600),
    };
    return this.sign(claims);
  }

  /** Issues the reconnection token for a connected client (always client-scoped). */
  issueReconnection(user: UserInfo, workspace: string, clientId: string, lifetimeS: number): string {
    return this.sign({
      sub: user.id,
      ws: workspace,
      cid: clientId,
      roles: user.roles,
      anon: user.is_anonymous,
      kind: "reconnection",
      exp: Math.floor(Date.now() / 1000) + lifetimeS,
    });
  }

  /** Returns the claims of a valid token; throws with the reason otherwise. */
  verify(token: string): TokenClaims {
    const parts = token.split(".");
    if (parts.length !== 3) throw new Error("Authentication error: Error decoding token headers.");
    const [header, payload, signature] = parts as [string, string, string];
    const expected = createHmac("sha256", this.secret).update(`${header}.${payload}`).digest();
    const given = Buffer.from(signature, "base64url");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new Error("Authentication error: Signature verification failed.");
    }
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as TokenClaims;
    if (claims.exp * 1000 < Date.now()) throw new Error("Authentication error: The token has expired.");
    return claims;
  }

  private sign(claims: TokenClaims): string {
    const header = base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
    const payload = base64url(JSON.stringify(claims));
    const signature = createHmac("sha256", this.secret).update(`${header}.${payload}`).digest("base64url");
    return `${header}.${payload}.${signature}`;
  }
}

/** Builds the user record the server puts in connection_info and in every routed message. */
export function userFromClaims(claims: Pick<TokenClaims, "sub" | "ws" | "roles" | "anon" | "exp">, clientId: string): UserInfo {
  return {
    id: claims.sub,
    roles: claims.roles,
    is_anonymous: claims.anon,
    email: claims.anon ? null : `${claims.sub}@test.invalid`,
    parent: null,
    scope: { current_workspace: claims.ws, workspaces: { [claims.ws]: "a" }, client_id: clientId },
    expires_at: claims.exp,
  };
}

/** A fresh anonymous user in its own workspace, as upstream creates for token-less connections. */
export function anonymousUser(clientId: string): UserInfo {
  const id = randomId("anonymouz", 5);
  return userFromClaims({ sub: id, ws: userWorkspace(id), roles: ["anonymous"], anon: true, exp: Math.floor(Date.now() / 1000) + 3600 }, clientId);
}

/** The server's own root user. */
export function rootUser(clientId: string): UserInfo {
  return userFromClaims({ sub: "root", ws: "public", roles: ["admin"], anon: false, exp: Math.floor(Date.now() / 1000) + 24 * 3600 }, clientId);
}
