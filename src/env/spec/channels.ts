/**
 * Channels: syntax validation, the operator's name → URL map (mirrors), and the allow-list.
 * The allow-list is consulted with both spellings: a channel passes when its name as written, or the URL
 * it maps to, is listed. The mapped value is what gets hashed and handed to the package manager.
 */
import { ConfigError, ManifestError, WorkerError } from "../../errors.js";
import { quoteItem, requireCleanString } from "./spec-text.js";

// conda channel names and owner/label paths: "conda-forge", "pytorch", "conda-forge/label/dev".
const CHANNEL_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(?:\/[A-Za-z0-9_][A-Za-z0-9_.-]*){0,3}$/;
const URL_SCHEMES = ["https:", "http:", "file:"];
/** conda's pseudo-channel that disables the defaults; never mapped, always allowed. */
export const NODEFAULTS = "nodefaults";

/** Returns true when `value` is written as a URL (has a scheme). */
export function isChannelUrl(value: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value);
}

/**
 * Validates a channel URL (https, http or file; no credentials, no whitespace, no shell metacharacters)
 * and returns it without trailing slashes. `fail` builds the error to throw.
 */
export function normalizeChannelUrl(value: string, fail: (reason: string) => WorkerError): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw fail("is not a valid URL; write it as https://host/path or file:///absolute/path");
  }
  if (!URL_SCHEMES.includes(url.protocol)) throw fail("uses an unsupported scheme; use https://, http:// or file://");
  if (url.username || url.password) {
    throw fail("contains credentials; configure them in the package manager's config (.condarc / .mambarc) instead of the URL");
  }
  if (/[\s"'`$;&|<>()\\{}]/.test(value)) throw fail("contains whitespace, quotes or shell metacharacters; percent-encode them");
  if (url.search || url.hash) throw fail("has a query string or fragment; channel URLs cannot carry them");
  return value.replace(/\/+$/, "");
}

/** Validates one channel as written in a manifest or environment.yml and returns it trimmed. */
export function validateChannel(value: unknown, where = "channel"): string {
  const text = requireCleanString(value, where, "write a channel name like \"conda-forge\" or a URL");
  if (text.startsWith("-")) {
    throw new ManifestError(`${where} ${quoteItem(value)} starts with "-", which a command line would read as an option; remove the dash`);
  }
  if (isChannelUrl(text)) {
    return normalizeChannelUrl(text, (reason) => new ManifestError(`${where} ${quoteItem(value)} ${reason}`));
  }
  if (!CHANNEL_NAME.test(text)) {
    throw new ManifestError(
      `${where} ${quoteItem(value)} is not a valid channel: use a name of letters, digits, "_", ".", "-" (optionally owner/label) or an https://, http:// or file:// URL`,
    );
  }
  return text;
}

/** Compares channel spellings for the allow-list (exact, ignoring trailing slashes on URLs). */
function sameChannel(a: string, b: string): boolean {
  return a.replace(/\/+$/, "") === b.replace(/\/+$/, "");
}

export interface ChannelPolicy {
  channelMap: Record<string, string>;
  allowedChannels?: string[];
}

/**
 * Applies the allow-list (name before mapping, URL after) and the channel map to one validated channel.
 * Throws E_CHANNEL_NOT_ALLOWED naming the channel when the operator restricted channels and it is not listed.
 */
export function resolveChannel(channel: string, policy: ChannelPolicy): string {
  if (channel === NODEFAULTS) return channel;
  const mapped = Object.prototype.hasOwnProperty.call(policy.channelMap, channel) ? policy.channelMap[channel]! : channel;
  const allowed = policy.allowedChannels;
  if (allowed && !allowed.some((entry) => sameChannel(entry, channel) || sameChannel(entry, mapped))) {
    throw new WorkerError(
      "E_CHANNEL_NOT_ALLOWED",
      `channel ${quoteItem(channel)}${mapped !== channel ? ` (mapped to ${quoteItem(mapped)})` : ""} is not allowed on this worker; ` +
        `allowed: ${allowed.map((c) => quoteItem(c)).join(", ")}. Use one of those channels, or ask the operator to add it to --allowed-channels`,
    );
  }
  return mapped;
}

/** Normalises a channel list (string or array; default when absent): validated, de-duplicated, mapped. */
export function resolveChannelList(value: unknown, defaults: string[], policy: ChannelPolicy, where = "channels"): string[] {
  let items: unknown[];
  if (value === undefined || value === null) items = defaults;
  else if (typeof value === "string") items = [value];
  else if (Array.isArray(value)) items = value.length === 0 ? defaults : value;
  else throw new ManifestError(`${where} must be a channel name or a list of them, not ${quoteItem(value)}; write e.g. channels: [conda-forge]`);
  if (items.length > 32) throw new ManifestError(`${where} lists ${items.length} channels (more than 32); remove some`);
  const out: string[] = [];
  for (const item of items) {
    const resolved = resolveChannel(validateChannel(item, `${where} item`), policy);
    // A repeated channel adds nothing: the first occurrence already fixed its priority.
    if (!out.includes(resolved)) out.push(resolved);
  }
  return out;
}

/** Parses an operator `NAME=URL` channel-map entry; `source` names the flag/env var in errors. */
export function parseChannelMapEntry(entry: string, source: string): [string, string] {
  const eq = entry.indexOf("=");
  const name = eq > 0 ? entry.slice(0, eq).trim() : "";
  const target = eq > 0 ? entry.slice(eq + 1).trim() : "";
  if (!name || !target) throw new ConfigError(`${source}: ${quoteItem(entry)} is not NAME=URL; write e.g. conda-forge=https://mirror.example/conda-forge`);
  if (!CHANNEL_NAME.test(name)) throw new ConfigError(`${source}: channel name ${quoteItem(name)} is not a valid channel name (letters, digits, "_", ".", "-", optional owner/label)`);
  const fail = (reason: string) => new ConfigError(`${source}: URL ${quoteItem(target)} for channel ${quoteItem(name)} ${reason}`);
  if (!isChannelUrl(target)) throw fail("is not a URL; write an https://, http:// or file:// URL");
  return [name, normalizeChannelUrl(target, fail)];
}
