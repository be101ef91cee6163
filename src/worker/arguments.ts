/** Checks of the plain arguments worker methods receive over RPC. */
import { ConfigError, SessionError } from "../errors.js";

export function requireString(value: unknown, name: string, method: string): string {
  if (typeof value !== "string" || value.length === 0 || value.includes("\0")) {
    throw new ConfigError(`${method}: '${name}' is required and must be a non-empty string.`);
  }
  return value;
}

export function optionalInt(value: unknown, name: string, min: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new ConfigError(`get_logs: '${name}' must be an integer >= ${min} (or omitted).`);
  }
  return value;
}

export function notFound(sessionId: string): SessionError {
  return new SessionError("E_SESSION_NOT_FOUND", `Session '${sessionId}' was not found; it may have been stopped already. Call list_sessions to see the current sessions.`);
}
