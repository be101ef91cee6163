/**
 * Defaults and value parsers shared by every command: the cache location, timeouts, and the size and
 * duration syntax (`10G`, `500MB`, `7d`, `12h`) used by flags and environment variables.
 */
import os from "node:os";
import path from "node:path";

export const APP_DIR_NAME = "hypha-conda-worker";
/** A create that runs longer than this is killed (seconds): 30 minutes covers large CUDA stacks. */
export const DEFAULT_CREATE_TIMEOUT_SECONDS = 1800;
export const DEFAULT_CHANNELS: readonly string[] = ["conda-forge"];

/** Returns `$XDG_CACHE_HOME/hypha-conda-worker`, else `~/.cache/hypha-conda-worker`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  // The XDG spec says relative values are invalid and must be ignored.
  if (xdg && path.isAbsolute(xdg)) return path.join(xdg, APP_DIR_NAME);
  return path.join(env.HOME && path.isAbsolute(env.HOME) ? env.HOME : os.homedir(), ".cache", APP_DIR_NAME);
}

// Binary multiples throughout: K = KB = KiB = 1024 bytes (documented in docs/manifest-and-spec.md).
const SIZE_UNITS: Record<string, number> = {
  "": 1, b: 1,
  k: 1024, kb: 1024, kib: 1024,
  m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2,
  g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3,
  t: 1024 ** 4, tb: 1024 ** 4, tib: 1024 ** 4,
};

const DURATION_UNITS: Record<string, number> = {
  "": 1000, s: 1000, sec: 1000,
  m: 60_000, min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** `<number><unit>` scaled by the unit's factor, as a safe integer; undefined when malformed or unknown. */
function parseScaled(text: string, units: Record<string, number>): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(text);
  if (!match) return undefined;
  const factor = units[match[2]!.toLowerCase()];
  if (factor === undefined) return undefined;
  const scaled = Math.round(Number(match[1]) * factor);
  return Number.isSafeInteger(scaled) ? scaled : undefined;
}

/** Parses `10G`, `500MB`, `1.5GiB`, `123` (bytes) into bytes; returns undefined when malformed. */
export function parseSize(text: string): number | undefined {
  return parseScaled(text, SIZE_UNITS);
}

/** Parses `7d`, `12h`, `30m`, `45s`, `2w`, `90` (seconds) into milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  return parseScaled(text, DURATION_UNITS);
}

/** Parses a non-negative integer written in decimal digits; undefined otherwise. */
export function parseCount(text: string): number | undefined {
  if (!/^\s*\d+\s*$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Parses a positive number of seconds (fractions allowed); undefined otherwise. */
export function parseSeconds(text: string): number | undefined {
  if (!/^\s*\d+(?:\.\d+)?\s*$/.test(text)) return undefined;
  const n = Number(text);
  return n > 0 && Number.isFinite(n) ? n : undefined;
}

/** Parses a boolean environment variable (`1/true/yes/on`, `0/false/no/off/""`); undefined otherwise. */
export function parseBooleanText(text: string): boolean | undefined {
  const v = text.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(v)) return true;
  if (["", "0", "false", "no", "off"].includes(v)) return false;
  return undefined;
}
