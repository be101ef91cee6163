/**
 * Conda match specs: validation and one canonical spelling per meaning.
 *
 * Canonical form: `[channel::]name[ version[ build]]`, name lower-cased, no spaces inside the version
 * constraint. Spellings merged (conda's own MatchSpec rules):
 *   numpy>=1.20 ≡ numpy >=1.20 ≡ numpy  >=1.20 ≡ NumPy>= 1.20        → "numpy >=1.20"
 *   numpy=1.26  ≡ numpy 1.26.* ≡ numpy=1.26.*                         → "numpy 1.26.*"  (single "=" is fuzzy)
 *   numpy==1.26 ≡ numpy 1.26                                          → "numpy 1.26"    (exact)
 *   numpy=1.26=py311* ≡ numpy 1.26 py311* ≡ numpy=1.26 py311*       → "numpy 1.26 py311*" (a build makes "=" exact)
 *   numpy==1.26=py311* keeps "==1.26" (conda drops "==" only when no build follows)
 * Everything else is kept as written (minus whitespace), so different meanings never collide.
 */
import { ManifestError } from "../../errors.js";
import { resolveChannel, validateChannel, type ChannelPolicy } from "./channels.js";
import { quoteItem, requireCleanString } from "./spec-text.js";

const NAME = /^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/;
const VERSION_CLAUSE = /^(?:==|!=|<=|>=|~=|<|>|=)?[A-Za-z0-9_.*+!]+$/;
const BUILD = /^[A-Za-z0-9_.*+]+$/;
// Everything a match spec may contain; ":" and "/" only appear in a "channel::" prefix.
const SPEC_CHARS = /^[A-Za-z0-9_.*+!=<>~,| \t-]*$/;

export interface CondaSpecParts {
  channel?: string;
  name: string;
  version?: string;
  build?: string;
}

function specError(value: unknown, reason: string): ManifestError {
  return new ManifestError(`dependency ${quoteItem(value)} ${reason}`);
}

/** Finds the first character a spec cannot contain and describes it, for the error message. */
function describeBadChar(text: string): string | undefined {
  const bad = /[^A-Za-z0-9_.*+!=<>~,| \t-]/.exec(text);
  if (!bad) return undefined;
  const ch = bad[0];
  if (ch === "[" || ch === "]") return `uses the bracket form "[...]", which this worker does not accept; write the constraint after a space, e.g. "numpy >=1.20"`;
  if (ch === "@") return `contains "@"; a conda dependency cannot be a URL or a direct reference (use the pip section for that)`;
  return `contains ${JSON.stringify(ch)}, which a conda match spec cannot contain (shell metacharacter or stray symbol); remove it`;
}

/** Validates a version constraint ("1.26.*", ">=1.20,<2", "1.2|1.4") after whitespace removal. */
function checkVersion(value: unknown, version: string): void {
  for (const clause of version.split(/[,|]/)) {
    if (!VERSION_CLAUSE.test(clause)) {
      throw specError(value, `has an invalid version constraint ${quoteItem(version)}; use operators < <= > >= == != ~= = with versions like 1.20 or 1.26.*, joined by "," or "|"`);
    }
  }
}

/** Splits "name rest" into validated parts; `rest` is everything after the package name. */
function parseVersionAndBuild(value: unknown, rest: string): { version?: string; build?: string } {
  let text = rest.trim();
  if (text === "") return {};
  // "=1.26", "=1.26=py311*", "=1.26 py311*": conda's fuzzy single-equals form.
  const single = /^=(?!=)([^=\s<>!~,|]+)(?:(?:=|\s+)([^=\s<>!~,|]+))?$/.exec(text);
  if (single) {
    const [, v, b] = single;
    checkVersion(value, v!);
    if (b !== undefined) {
      if (!BUILD.test(b)) throw specError(value, `has an invalid build string ${quoteItem(b)}; use letters, digits, "_", ".", "*"`);
      return { version: v!, build: b };
    }
    return { version: v!.endsWith("*") ? v! : `${v}.*` };
  }
  if (text.startsWith("=") && !text.startsWith("==")) {
    throw specError(value, `mixes the "=" form with other operators; write either "name=1.26" or "name >=1.20,<2"`);
  }
  // Whitespace after an operator or around "," and "|" is not a separator in conda.
  text = text.replace(/(==|!=|<=|>=|~=|<|>|=)\s+/g, "$1").replace(/\s*([,|])\s*/g, "$1");
  const tokens = text.split(/\s+/);
  if (tokens.length > 2) throw specError(value, `has more than three parts; write "name version [build]"`);
  let version = tokens[0]!;
  let build = tokens[1];
  if (build === undefined) {
    // "==1.26=py311" / "1.26=py311": a build after "=" that does not belong to an operator.
    const withBuild = /^(.*[^=<>!~,|])=([^=<>!~,|]+)$/.exec(version);
    if (withBuild) {
      version = withBuild[1]!;
      build = withBuild[2]!;
    }
  }
  checkVersion(value, version);
  if (build !== undefined && !BUILD.test(build)) {
    throw specError(value, `has an invalid build string ${quoteItem(build)}; use letters, digits, "_", ".", "*"`);
  }
  // conda reads "==X" without a build as the exact version "X".
  if (build === undefined && /^==[^,|]+$/.test(version)) version = version.slice(2);
  return build === undefined ? { version } : { version, build };
}

/** Parses and validates one conda match spec; the channel prefix is validated but not yet mapped. */
export function parseCondaSpec(value: unknown): CondaSpecParts {
  const text = requireCleanString(value, "dependency", 'write a conda match spec such as "numpy >=1.20"');
  if (text.startsWith("-")) {
    throw specError(value, `starts with "-", which a command line would read as an option; write a package name first`);
  }
  let channel: string | undefined;
  let body = text;
  const sep = text.lastIndexOf("::");
  if (sep >= 0) {
    channel = validateChannel(text.slice(0, sep), `channel of dependency ${quoteItem(value)}:`);
    body = text.slice(sep + 2).trim();
  }
  if (!SPEC_CHARS.test(body)) throw specError(value, describeBadChar(body) ?? "contains characters a match spec cannot contain");
  const nameMatch = /^([^\s=<>!~,|]+)(.*)$/.exec(body);
  if (!nameMatch || !NAME.test(nameMatch[1]!)) {
    throw specError(value, `does not start with a package name (letters, digits, "_", ".", "-", "+"); write e.g. "numpy >=1.20"`);
  }
  const parts = parseVersionAndBuild(value, nameMatch[2]!);
  return { ...(channel ? { channel } : {}), name: nameMatch[1]!.toLowerCase(), ...parts };
}

/** Returns the canonical spelling of a conda match spec, with the channel prefix mapped and allow-listed. */
export function normalizeCondaSpec(value: unknown, policy: ChannelPolicy): string {
  const parts = parseCondaSpec(value);
  const channel = parts.channel ? `${resolveChannel(parts.channel, policy)}::` : "";
  return formatCondaSpec({ ...parts, channel: undefined }, channel);
}

function formatCondaSpec(parts: CondaSpecParts, prefix: string): string {
  let out = `${prefix}${parts.name}`;
  if (parts.version !== undefined && parts.version !== "*") out += ` ${parts.version}`;
  else if (parts.version === "*" && parts.build !== undefined) out += " *";
  if (parts.build !== undefined) out += ` ${parts.build}`;
  return out;
}

/** Returns the package name of a canonical (or raw) conda spec, without channel prefix. */
export function condaSpecName(spec: string): string {
  const body = spec.includes("::") ? spec.slice(spec.lastIndexOf("::") + 2) : spec;
  return (/^[^\s=<>!~,|]+/.exec(body.trim())?.[0] ?? "").toLowerCase();
}
