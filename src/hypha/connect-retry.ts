/**
 * What to do when connecting the worker to Hypha fails: a rejected token or a URL that is no Hypha
 * server is permanent (retrying cannot help); anything else (server not up yet, restarting, busy, the
 * "Workspace already exists" race of clients of a new user connecting at once) is retried with
 * exponential back-off and jitter, up to a bounded number of attempts.
 */
import { WorkerError, describeError } from "../errors.js";
import { redact } from "../redact.js";

export type ConnectFailureKind = "rejected-token" | "bad-url" | "tls" | "transient";

export interface ConnectFailure {
  kind: ConnectFailureKind;
  /** One line, redacted. */
  detail: string;
}

/** Upstream's refusals of a token or of the workspace it asks for (hypha/websocket.py, core/auth.py). */
const REJECTED_TOKEN = /Authentication error|Failed to authenticate user|token has expired|Invalid token|Client id mismatch|does not match the specified workspace|Permission denied/i;
/** Node's codes for a name that does not resolve or a URL that cannot be used. */
const BAD_URL_CODES = new Set(["ENOTFOUND", "ERR_INVALID_URL", "EPROTO"]);
/** An HTTP answer to the WebSocket upgrade: 4xx means no Hypha WebSocket endpoint there (408 and 429 excepted). */
const HTTP_ANSWER = /Unexpected server response: (\d{3})/;
/** Not a hypha-rpc server (legacy query-parameter auth, or no connection_info at all). */
const NOT_HYPHA = /Legacy authentication is not supported|no connection info obtained/;

/** Sorts a failed connection attempt into permanent kinds and `transient`. */
export function classifyConnectFailure(error: unknown): ConnectFailure {
  const detail = redact(describeError(error)).split("\n")[0]!.slice(0, 400);
  const code = causeCode(error);
  if (REJECTED_TOKEN.test(detail)) return { kind: "rejected-token", detail };
  if (code !== undefined && (code.startsWith("CERT_") || code.includes("SELF_SIGNED") || code.startsWith("ERR_TLS_") || code === "UNABLE_TO_VERIFY_LEAF_SIGNATURE")) {
    return { kind: "tls", detail };
  }
  if ((code !== undefined && BAD_URL_CODES.has(code)) || NOT_HYPHA.test(detail)) return { kind: "bad-url", detail };
  const status = Number(HTTP_ANSWER.exec(detail)?.[1]);
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) return { kind: "bad-url", detail };
  return { kind: "transient", detail };
}

function causeCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && typeof e === "object" && depth < 4; e = (e as { cause?: unknown }).cause, depth += 1) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && code !== "E_HYPHA") return code;
  }
  return undefined;
}

export interface ConnectRetryPolicy {
  /** Attempts in all, the first included; 0 = retry transient failures for ever. */
  attempts: number;
  /** Back-off before the second attempt; doubles up to maxDelayMs. */
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_CONNECT_ATTEMPTS = 12;
export const DEFAULT_CONNECT_POLICY: ConnectRetryPolicy = { attempts: DEFAULT_CONNECT_ATTEMPTS, initialDelayMs: 1_000, maxDelayMs: 30_000 };

/**
 * The wait before attempt `attempt + 1` (`attempt` ≥ 1 failed): exponential, capped, with "equal jitter"
 * (half fixed, half random), so workers that failed together do not retry together.
 */
export function backoffDelayMs(attempt: number, policy: ConnectRetryPolicy, random: () => number = Math.random): number {
  const base = Math.min(policy.initialDelayMs * 2 ** Math.max(0, attempt - 1), policy.maxDelayMs);
  return Math.round(base / 2 + random() * (base / 2));
}

/** The worker could not connect to Hypha: a permanent refusal, or too many temporary failures. */
export class HyphaConnectError extends WorkerError {
  constructor(readonly kind: Exclude<ConnectFailureKind, "transient"> | "attempts-exhausted" | "closed", message: string, cause: unknown) {
    super("E_HYPHA", message, { cause, details: { kind } });
  }
}

/** The server URL for messages, without any user:password part. */
export function displayUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.username && !parsed.password) return url;
    parsed.username = "";
    parsed.password = "";
    return parsed.toString();
  } catch {
    return url;
  }
}

/** The error `serve` exits with, saying which of the permanent cases (or the bound) it was. */
export function connectFailureError(failure: ConnectFailure, serverUrl: string, attempt: number, cause: unknown): HyphaConnectError {
  switch (failure.kind) {
    case "rejected-token":
      return new HyphaConnectError(failure.kind, `The Hypha server at ${serverUrl} rejected the worker's credentials (${failure.detail}). This is permanent, not retried: pass a valid token for the workspace with --token (HYPHA_TOKEN), or fix --workspace (HYPHA_WORKSPACE) / --client-id.`, cause);
    case "bad-url":
      return new HyphaConnectError(failure.kind, `No Hypha server answers at ${serverUrl} (${failure.detail}). This is permanent, not retried: check --server-url (HYPHA_SERVER_URL).`, cause);
    case "tls":
      return new HyphaConnectError(failure.kind, `The TLS certificate of ${serverUrl} was not accepted (${failure.detail}). Not retried: fix the certificate, or pass --disable-ssl for a self-signed one.`, cause);
    default:
      return new HyphaConnectError("attempts-exhausted", `Could not connect to the Hypha server at ${serverUrl}: ${attempt} attempt(s) failed with temporary errors (last: ${failure.detail}). Check that the server is up and reachable, or allow more attempts with --connect-attempts (HYPHA_CONDA_CONNECT_ATTEMPTS; 0 = no limit).`, cause);
  }
}
