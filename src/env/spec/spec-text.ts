/** Small text checks shared by the manifest, match-spec, channel and variable validators. */
import { ManifestError } from "../../errors.js";
import { redact } from "../../redact.js";

/** Longest single item (spec, channel, variable value) accepted. */
export const MAX_ITEM_LENGTH = 500;

/** Renders a user value for an error message: JSON-quoted, redacted, cut at 120 characters. */
export function quoteItem(value: unknown): string {
  let text: string;
  try {
    text = typeof value === "string" ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  // URL credentials (scheme://user:pass@host) never reach an error message.
  text = redact(text).replace(/(\/\/)[^/@\s"]*@/g, "$1***@");
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/** Returns a description of the first control character (incl. NUL, newline, DEL) in `text`, if any. */
export function findControlChar(text: string): string | undefined {
  const match = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.exec(text);
  if (!match) return undefined;
  const code = match[0].charCodeAt(0);
  if (code === 0) return "a NUL byte";
  if (code === 10 || code === 13) return "a newline";
  return `control character U+${code.toString(16).padStart(4, "0").toUpperCase()}`;
}

/**
 * Checks the properties every command-line-bound string must have: a non-empty string, not too long,
 * no control characters, no leading "-". Throws a ManifestError naming `what` and the item.
 */
export function requireCleanString(value: unknown, what: string, fix: string): string {
  if (typeof value !== "string") {
    throw new ManifestError(`${what} ${quoteItem(value)} is not a string (got ${describeType(value)}); ${fix}`);
  }
  const trimmed = value.trim();
  if (trimmed === "") throw new ManifestError(`${what} ${quoteItem(value)} is empty; remove it or ${fix}`);
  if (value.length > MAX_ITEM_LENGTH) {
    throw new ManifestError(`${what} ${quoteItem(value)} is longer than ${MAX_ITEM_LENGTH} characters; shorten it`);
  }
  const control = findControlChar(value);
  if (control) throw new ManifestError(`${what} ${quoteItem(value)} contains ${control}; write it on one line without control characters`);
  return trimmed;
}

/** Names a JSON-ish value's type for messages ("number", "object", "array", "null"). */
export function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/** True for a plain object (not an array, not null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
