/**
 * The lock: the exact conda packages (URL, name, version, build, checksums) and pinned pip requirements one
 * spec resolved to, made at install (`compile`) or by `hypha-conda-worker lock`. It travels as an app file,
 * `hypha-conda.lock.json`, kept by the app manager like any other file. It is untrusted input when read:
 * every field is checked before any of it reaches a file the package manager reads.
 */
import { EnvError } from "../../errors.js";
import { isSpecHash } from "../cache/cache-layout.js";

export const LOCK_FILE_NAME = "hypha-conda.lock.json";
export const LOCK_FORMAT = 1;
const MAX_PACKAGES = 4096;
const MAX_LOCK_BYTES = 4 * 1024 * 1024;

export interface LockedCondaPackage {
  name: string;
  version: string;
  build: string;
  /** Full package URL (https, http or file), as the tool's solve reported it. */
  url: string;
  md5?: string;
  sha256?: string;
}

export interface LockedPipPackage {
  /** PEP 503 normalised name. */
  name: string;
  version: string;
}

export interface EnvLock {
  format: number;
  /** hashEnvSpec of the unlocked spec the lock was solved from (channels after the channel map). */
  specHash: string;
  subdir: string;
  channels: string[];
  /** In the order the tool would link them (dependencies first). */
  conda: LockedCondaPackage[];
  pip: LockedPipPackage[];
  /** The tool that solved it (informational, not hashed). */
  lockedWith: { name: string; version: string };
  createdAt: string;
}

const NAME = /^[a-z0-9_][a-z0-9_.-]*$/;
const VERSION = /^[A-Za-z0-9_.+!*-]+$/;
const BUILD = /^[A-Za-z0-9_.+-]+$/;
const PIP_NAME = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
// A package URL ends in the archive name; no credentials, query, fragment, whitespace or shell characters.
const ARCHIVE = /\/[A-Za-z0-9_.+!-]+(?:\.tar\.bz2|\.conda)$/;

function invalid(reason: string): EnvError {
  return new EnvError("E_ENV_LOCK", `${LOCK_FILE_NAME} is not a valid lock: ${reason}. Make it again with \`hypha-conda-worker lock <app-dir>\` or reinstall the app (its compile writes a new one)`, {
    details: { reason: "invalid" },
  });
}

function text(value: unknown, what: string, pattern: RegExp, max = 300): string {
  if (typeof value !== "string" || value.length === 0 || value.length > max || !pattern.test(value)) throw invalid(`${what} ${JSON.stringify(value)?.slice(0, 120)} is malformed`);
  return value;
}

/** Checks one package URL: https/http/file, credential-free, an archive name at the end. */
export function checkPackageUrl(value: unknown): string {
  const url = text(value, "package url", /^[A-Za-z0-9:/._~%+!@=-]+$/, 2000);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid(`package url ${JSON.stringify(url)} is not a URL`);
  }
  if (!["https:", "http:", "file:"].includes(parsed.protocol)) throw invalid(`package url ${JSON.stringify(url)} uses ${parsed.protocol}; only https, http and file are allowed`);
  if (parsed.username || parsed.password || parsed.search || parsed.hash) throw invalid(`package url ${JSON.stringify(url)} carries credentials, a query or a fragment`);
  if (!ARCHIVE.test(parsed.pathname)) throw invalid(`package url ${JSON.stringify(url)} does not end in a .conda or .tar.bz2 archive`);
  return url;
}

function condaPackage(value: unknown, index: number): LockedCondaPackage {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid(`conda[${index}] is not an object`);
  const v = value as Record<string, unknown>;
  const pkg: LockedCondaPackage = {
    name: text(v.name, `conda[${index}].name`, NAME),
    version: text(v.version, `conda[${index}].version`, VERSION),
    build: text(v.build, `conda[${index}].build`, BUILD),
    url: checkPackageUrl(v.url),
  };
  if (v.md5 !== undefined) pkg.md5 = text(v.md5, `conda[${index}].md5`, /^[0-9a-f]{32}$/);
  if (v.sha256 !== undefined) pkg.sha256 = text(v.sha256, `conda[${index}].sha256`, /^[0-9a-f]{64}$/);
  if (!pkg.md5 && !pkg.sha256) throw invalid(`conda[${index}] (${pkg.name}) has no md5 or sha256`);
  return pkg;
}

function pipPackage(value: unknown, index: number): LockedPipPackage {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid(`pip[${index}] is not an object`);
  const v = value as Record<string, unknown>;
  return { name: text(v.name, `pip[${index}].name`, PIP_NAME, 200), version: text(v.version, `pip[${index}].version`, /^[A-Za-z0-9.+!_-]+$/, 100) };
}

/** Validates a parsed lock document; throws E_ENV_LOCK naming the first bad field. */
export function validateLock(value: unknown): EnvLock {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid("it is not a JSON object");
  const v = value as Record<string, unknown>;
  if (v.format !== LOCK_FORMAT) throw invalid(`format ${JSON.stringify(v.format)} is not ${LOCK_FORMAT}`);
  if (typeof v.specHash !== "string" || !isSpecHash(v.specHash)) throw invalid("specHash is not 64 hex characters");
  const subdir = text(v.subdir, "subdir", /^[a-z0-9]+-[a-z0-9_]+$|^noarch$/, 40);
  if (!Array.isArray(v.channels) || v.channels.length === 0 || v.channels.length > 32) throw invalid("channels must be a non-empty list");
  const channels = v.channels.map((c, i) => text(c, `channels[${i}]`, /^[A-Za-z0-9_:/.~%+@=-]+$/, 500));
  if (!Array.isArray(v.conda) || v.conda.length === 0 || v.conda.length > MAX_PACKAGES) throw invalid(`conda must list 1 to ${MAX_PACKAGES} packages`);
  if (!Array.isArray(v.pip) || v.pip.length > MAX_PACKAGES) throw invalid("pip must be a list");
  const lockedWith = (v.lockedWith ?? {}) as Record<string, unknown>;
  return {
    format: LOCK_FORMAT,
    specHash: v.specHash,
    subdir,
    channels,
    conda: v.conda.map(condaPackage),
    pip: v.pip.map(pipPackage),
    lockedWith: { name: String(lockedWith.name ?? "unknown").slice(0, 40), version: String(lockedWith.version ?? "unknown").slice(0, 40) },
    createdAt: typeof v.createdAt === "string" ? v.createdAt.slice(0, 40) : "",
  };
}

/** Parses the lock file's text (size-limited JSON) and validates it. */
export function parseLock(textValue: string): EnvLock {
  if (Buffer.byteLength(textValue, "utf8") > MAX_LOCK_BYTES) throw invalid(`it is larger than ${MAX_LOCK_BYTES / 1024 / 1024} MiB`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(textValue);
  } catch (error) {
    throw invalid(`it is not JSON (${(error as Error).message})`);
  }
  return validateLock(parsed);
}

/** The file's text: stable key order, one package per line block, trailing newline. */
export function formatLock(lock: EnvLock): string {
  return `${JSON.stringify(validateLock(lock), null, 2)}\n`;
}

/** `name==version` lines for pip, sorted. */
export function pipPins(lock: Pick<EnvLock, "pip">): string[] {
  return lock.pip.map((p) => `${p.name}==${p.version}`).sort();
}
