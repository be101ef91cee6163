/**
 * Pieces of the app manager's start flow: caller identity and context, client ids, the start config,
 * and waiting for the app's service.
 */
import { randomInt } from "node:crypto";
import type { HyphaTestServer } from "../hypha-server/server.js";
import { userFromClaims, userWorkspace, type UserInfo } from "../hypha-server/tokens.js";
import type { RemoteService } from "./workers.js";

export interface CallerIdentity {
  /** Workspace of the installing/starting user; default the user's own `ws-user-<id>`. */
  workspace?: string;
  /** User id or user record; default `test-user`. */
  user?: string | UserInfo;
  /** The caller's client id (context.from); default `test-caller`. */
  callerClientId?: string;
}

/** The real caller's context as the server passes it in the `context` keyword. */
export interface CallerContext {
  ws: string;
  user: UserInfo;
  from: string;
}

/** Resolves a caller to its context. */
export function callerContext(identity: CallerIdentity): CallerContext {
  const user =
    typeof identity.user === "object"
      ? identity.user
      : userFromClaims({ sub: identity.user ?? "test-user", ws: "", roles: [], anon: false, exp: Math.floor(Date.now() / 1000) + 3600 }, identity.callerClientId ?? "test-caller");
  const ws = identity.workspace ?? userWorkspace(user.id);
  const scoped: UserInfo = { ...user, scope: { ...user.scope, current_workspace: ws, workspaces: { [ws]: "a" } } };
  return { ws, user: scoped, from: `${ws}/${identity.callerClientId ?? "test-caller"}` };
}

const WORDS = ["periwinkle", "iberis", "azalea", "bramble", "clover", "dahlia", "fennel", "juniper", "lupin", "sorrel"];

/** A readable app client id shaped like upstream's: `_rapp_<word>-<word>-<8 digits>__rlb`. */
export function appClientId(): string {
  const word = () => WORDS[randomInt(WORDS.length)] as string;
  return `_rapp_${word()}-${word()}-${String(randomInt(10_000_000, 99_999_999))}__rlb`;
}

export interface AppSession {
  /** `workspace/client_id` — the session id the server passes to stop/get_logs. */
  id: string;
  app_id: string;
  workspace: string;
  client_id: string;
  worker_id: string;
  /** What the worker's start returned (ignored by the real server). */
  start_result?: unknown;
  /** Logs kept in the records, `{type: [lines]}` (apps.py does so for python-eval apps only). */
  logs?: Record<string, string[]> | undefined;
  /** Every progress_callback message, in order. */
  progress: unknown[];
  context: CallerContext;
  worker: RemoteService;
  state: "starting" | "running" | "stopping";
  /** Set once the worker's start returned: upstream stores the session then, and later starts see it. */
  recorded?: boolean;
}

/** How the stand-in's progress_callback behaves: record only, throw after recording, or answer late. */
export type ProgressBehaviour = "record" | "throw" | { delayMs: number };

export interface StartConfigFacts {
  server: HyphaTestServer;
  appId: string;
  clientId: string;
  context: CallerContext;
  manifest: Record<string, unknown>;
  timeoutS: number;
  progress: unknown[];
  progressBehaviour?: ProgressBehaviour;
  /** Lifetime of the app token (default one hour, as upstream). */
  tokenExpiresInS?: number;
}

/** Builds `config` exactly like the reference's real example. */
export function buildStartConfig(facts: StartConfigFacts): Record<string, unknown> {
  const { server, appId, clientId, context } = facts;
  const ws = context.ws;
  return {
    id: `${ws}/${clientId}`,
    app_id: appId,
    workspace: ws,
    client_id: clientId,
    server_url: server.url,
    app_files_base_url: `${server.url}/${ws}/artifacts/${appId}/files`,
    token: server.issueToken({ workspace: ws, clientId, userId: context.user.id, ...(facts.tokenExpiresInS !== undefined ? { expiresInS: facts.tokenExpiresInS } : {}) }),
    entry_point: facts.manifest.entry_point,
    artifact_id: `${ws}/${appId}`,
    timeout: facts.timeoutS,
    manifest: facts.manifest,
    progress_callback: async (message: unknown) => {
      facts.progress.push(message);
      const behaviour = facts.progressBehaviour ?? "record";
      if (behaviour === "throw") throw new Error("progress_callback failed (test knob)");
      if (typeof behaviour === "object") await new Promise((resolve) => setTimeout(resolve, behaviour.delayMs));
    },
    disable_ssl: false,
  };
}

/** Which service to wait for: manifest/option value, `true` → "default", `false` → detached, "" → the client only (apps.py). */
export function serviceToWaitFor(option: string | boolean | undefined, manifest: Record<string, unknown>): string | false {
  const startup = (manifest.startup_config ?? {}) as { wait_for_service?: string | boolean };
  const value = option ?? startup.wait_for_service ?? "default";
  if (value === false) return false;
  if (value === true) return "default";
  return value.includes(":") ? (value.split(":")[1] as string) : value;
}

/**
 * Resolves when service `id` (`ws/client:svc`) is registered, or for `ws/client:` (wait_for_service "")
 * when that client is connected; rejects with the upstream text after `timeoutMs`.
 */
export async function waitForService(server: HyphaTestServer, id: string, timeoutMs: number, isCancelled: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const ready = id.endsWith(":") ? () => server.router.isConnected(id.slice(0, -1)) : () => server.router.registry.get(id) !== undefined;
  while (!ready()) {
    if (isCancelled()) throw new Error("Application startup cancelled");
    if (Date.now() >= deadline) throw new Error("Application startup timed out");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
