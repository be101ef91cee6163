/**
 * Secret redaction. Every token the process learns (worker token, app tokens) is registered here, and
 * every log line, progress message and error text passes through `redact` before it leaves the worker.
 */
const secrets = new Set<string>();
const MIN_SECRET_LENGTH = 6;

/** Registers a value that must never appear in logs, progress, or error text. */
export function registerSecret(value: string | undefined | null): void {
  if (typeof value === "string" && value.length >= MIN_SECRET_LENGTH) secrets.add(value);
}

/** Forgets a secret (e.g. when its session ends). */
export function forgetSecret(value: string | undefined | null): void {
  if (typeof value === "string") secrets.delete(value);
}

// JWT-shaped strings are redacted even when nobody registered them.
const JWT_PATTERN = /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g;
const BEARER_PATTERN = /(Bearer\s+)[^\s"']+/gi;

/** Returns `text` with every known secret, JWT and Bearer credential replaced by `***`. */
export function redact(text: string): string {
  let out = text;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join("***");
  }
  return out.replace(JWT_PATTERN, "***").replace(BEARER_PATTERN, "$1***");
}
