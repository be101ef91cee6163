/**
 * The environment flags every command shares (serve, run, prewarm, cache, doctor), layered
 * flag > environment variable > default, and validated into EnvOptions. A bad value is a ConfigError
 * naming both the flag and the variable.
 */
import path from "node:path";
import type { OptionSpec } from "./command.js";
import { ConfigError } from "../errors.js";
import {
  DEFAULT_CHANNELS, DEFAULT_CREATE_TIMEOUT_SECONDS, defaultCacheDir, parseBooleanText, parseCount, parseDuration,
  parseSeconds, parseSize,
} from "../config.js";
import { isChannelUrl, normalizeChannelUrl, parseChannelMapEntry, validateChannel } from "../env/spec/channels.js";
import { findControlChar, quoteItem } from "../env/spec/spec-text.js";
import type { EnvOptions } from "../env/types.js";

export const ENV_OPTION_SPECS: OptionSpec = {
  "cache-dir": { type: "string" },
  "package-manager": { type: "string" },
  "no-bootstrap": { type: "boolean" },
  "micromamba-url": { type: "string" },
  "channel-map": { type: "string", multiple: true },
  "allowed-channels": { type: "string" },
  "default-channels": { type: "string" },
  "allow-pip-options": { type: "boolean" },
  "env-timeout": { type: "string" },
  "cache-max-envs": { type: "string" },
  "cache-max-size": { type: "string" },
  "cache-max-age": { type: "string" },
  "lock-mismatch": { type: "string" },
  "no-install-lock": { type: "boolean" },
};

/** Flag → environment variable. */
export const ENV_OPTION_VARIABLES: Record<string, string> = {
  "cache-dir": "HYPHA_CONDA_CACHE_DIR",
  "package-manager": "HYPHA_CONDA_PACKAGE_MANAGER",
  "no-bootstrap": "HYPHA_CONDA_NO_BOOTSTRAP",
  "micromamba-url": "HYPHA_CONDA_MICROMAMBA_URL",
  "channel-map": "HYPHA_CONDA_CHANNEL_MAP",
  "allowed-channels": "HYPHA_CONDA_ALLOWED_CHANNELS",
  "default-channels": "HYPHA_CONDA_DEFAULT_CHANNELS",
  "allow-pip-options": "HYPHA_CONDA_ALLOW_PIP_OPTIONS",
  "env-timeout": "HYPHA_CONDA_ENV_TIMEOUT",
  "cache-max-envs": "HYPHA_CONDA_CACHE_MAX_ENVS",
  "cache-max-size": "HYPHA_CONDA_CACHE_MAX_SIZE",
  "cache-max-age": "HYPHA_CONDA_CACHE_MAX_AGE",
  "lock-mismatch": "HYPHA_CONDA_LOCK_MISMATCH",
  "no-install-lock": "HYPHA_CONDA_NO_INSTALL_LOCK",
};

/**
 * Upstream's names read after ours (hypha/workers/conda.py reads CONDA_CACHE_DIR in its built-in and
 * env-only modes; its docs name HYPHA_CACHE_DIR). Its CLI's HYPHA_CONDA_CACHE_DIR is ours already.
 */
export const ENV_OPTION_UPSTREAM_VARIABLES: Record<string, readonly string[]> = {
  "cache-dir": ["HYPHA_CACHE_DIR", "CONDA_CACHE_DIR"],
};

/** Notes for the operator's log: which settings came from upstream's variable names (names only). */
export function upstreamVariableNotes(values: Record<string, unknown>, env: NodeJS.ProcessEnv): string[] {
  const notes: string[] = [];
  for (const flag of Object.keys(ENV_OPTION_UPSTREAM_VARIABLES)) {
    const got = pick(values, env, flag);
    if (got && got.source !== `--${flag}` && got.source !== ENV_OPTION_VARIABLES[flag]) {
      notes.push(`--${flag}: read from ${got.source} (upstream's name; ${ENV_OPTION_VARIABLES[flag]} takes precedence)`);
    }
  }
  return notes;
}

export const ENV_OPTIONS_HELP = [
  "Environment options (flag > environment variable > default):",
  "  --cache-dir DIR            env cache root [HYPHA_CONDA_CACHE_DIR > HYPHA_CACHE_DIR > CONDA_CACHE_DIR; default $XDG_CACHE_HOME/hypha-conda-worker or ~/.cache/hypha-conda-worker]",
  "  --package-manager NAME|PATH  mamba, micromamba, conda or an absolute path [HYPHA_CONDA_PACKAGE_MANAGER; default: detect mamba > micromamba > conda]",
  "  --no-bootstrap             never download micromamba when no package manager is found [HYPHA_CONDA_NO_BOOTSTRAP=1]",
  "  --micromamba-url URL       folder holding micromamba-<platform> and .sha256 for bootstrap (mirror) [HYPHA_CONDA_MICROMAMBA_URL]",
  "  --channel-map NAME=URL     use URL for channel NAME; repeatable [HYPHA_CONDA_CHANNEL_MAP=\"a=url,b=url\"]",
  "  --allowed-channels A,B     only these channels (names or URLs) may be used [HYPHA_CONDA_ALLOWED_CHANNELS]",
  "  --default-channels A,B     channels for apps that name none [HYPHA_CONDA_DEFAULT_CHANNELS; default conda-forge]",
  "  --allow-pip-options        allow pip options and URL requirements in pip: sections [HYPHA_CONDA_ALLOW_PIP_OPTIONS=1]",
  `  --env-timeout SECONDS      kill an env create after this long [HYPHA_CONDA_ENV_TIMEOUT; default ${DEFAULT_CREATE_TIMEOUT_SECONDS}]`,
  "  --cache-max-envs N         keep at most N unused envs [HYPHA_CONDA_CACHE_MAX_ENVS; default unlimited]",
  "  --cache-max-size SIZE      keep the cache under SIZE, e.g. 50G, 500MB [HYPHA_CONDA_CACHE_MAX_SIZE; default unlimited]",
  "  --cache-max-age DURATION   evict envs unused for DURATION, e.g. 7d, 12h [HYPHA_CONDA_CACHE_MAX_AGE; default unlimited]",
  "  --lock-mismatch error|spec an app lock made for other channels, another platform, or with a gone package: fail with",
  "                             how to re-lock (error), or build from the spec [HYPHA_CONDA_LOCK_MISMATCH; default error]",
  "  --no-install-lock          compile (install) validates only, writes no hypha-conda.lock.json [HYPHA_CONDA_NO_INSTALL_LOCK=1]",
].join("\n");

const PACKAGE_MANAGER_NAMES = ["mamba", "micromamba", "conda"];

/** Reads one layered setting: the flag when given, else the first of its variables set and non-empty. */
function pick(values: Record<string, unknown>, env: NodeJS.ProcessEnv, flag: string): { value: unknown; source: string } | undefined {
  if (values[flag] !== undefined) return { value: values[flag], source: `--${flag}` };
  for (const variable of [ENV_OPTION_VARIABLES[flag]!, ...(ENV_OPTION_UPSTREAM_VARIABLES[flag] ?? [])]) {
    const fromEnv = env[variable];
    if (fromEnv !== undefined && fromEnv.trim() !== "") return { value: fromEnv, source: variable };
  }
  return undefined;
}

function invalid(flag: string, value: unknown, expected: string, source?: string): ConfigError {
  const shown = quoteItem(typeof value === "string" ? value : String(value));
  const from = source && source !== `--${flag}` && source !== ENV_OPTION_VARIABLES[flag] ? ` (from ${source})` : "";
  return new ConfigError(`invalid value ${shown} for --${flag} / ${ENV_OPTION_VARIABLES[flag]}${from}: expected ${expected}`);
}

function parsed<T>(values: Record<string, unknown>, env: NodeJS.ProcessEnv, flag: string, parse: (text: string) => T | undefined, expected: string): T | undefined {
  const got = pick(values, env, flag);
  if (!got) return undefined;
  const result = typeof got.value === "string" ? parse(got.value) : undefined;
  if (result === undefined) throw invalid(flag, got.value, expected, got.source);
  return result;
}

function flagOrBoolean(values: Record<string, unknown>, env: NodeJS.ProcessEnv, flag: string): boolean {
  if (values[flag] === true) return true;
  const text = env[ENV_OPTION_VARIABLES[flag]!];
  if (text === undefined) return false;
  const b = parseBooleanText(text);
  if (b === undefined) throw invalid(flag, text, "1/true/yes or 0/false/no");
  return b;
}

function parsePackageManager(text: string): string | undefined {
  const value = text.trim();
  if (findControlChar(value)) return undefined;
  if (PACKAGE_MANAGER_NAMES.includes(value)) return value;
  return path.isAbsolute(value) ? path.normalize(value) : undefined;
}

function parseCacheDir(text: string): string | undefined {
  if (text.trim() === "" || findControlChar(text)) return undefined;
  return path.resolve(text.trim());
}

function parseChannelList(flag: string) {
  return (text: string): string[] | undefined => {
    const items = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
    if (items.length === 0) return undefined;
    return items.map((item) => {
      try {
        return validateChannel(item, "channel");
      } catch (error) {
        throw invalid(flag, item, `channel names or URLs separated by commas (${(error as Error).message})`);
      }
    });
  };
}

function parseChannelMap(values: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, string> {
  const got = pick(values, env, "channel-map");
  if (!got) return {};
  const entries = Array.isArray(got.value)
    ? (got.value as string[])
    : String(got.value).split(",").map((s) => s.trim()).filter((s) => s !== "");
  const map: Record<string, string> = {};
  for (const entry of entries) {
    const [name, url] = parseChannelMapEntry(entry, `--channel-map / ${ENV_OPTION_VARIABLES["channel-map"]} (from ${got.source})`);
    map[name] = url;
  }
  return map;
}

function parseMicromambaUrl(text: string): string | undefined {
  const value = text.trim();
  if (!/^https?:\/\//.test(value) || !isChannelUrl(value)) return undefined;
  try {
    return normalizeChannelUrl(value, (reason) => new ConfigError(reason));
  } catch {
    return undefined;
  }
}

/** Builds validated EnvOptions from parsed flags and environment variables. */
export function resolveEnvOptions(values: Record<string, unknown>, env: NodeJS.ProcessEnv): EnvOptions {
  const timeoutSeconds = parsed(values, env, "env-timeout", parseSeconds, "a positive number of seconds, e.g. 1800") ?? DEFAULT_CREATE_TIMEOUT_SECONDS;
  const options: EnvOptions = {
    cacheDir: parsed(values, env, "cache-dir", parseCacheDir, "a directory path") ?? defaultCacheDir(env),
    bootstrap: !flagOrBoolean(values, env, "no-bootstrap"),
    channelMap: parseChannelMap(values, env),
    defaultChannels: parsed(values, env, "default-channels", parseChannelList("default-channels"), "channel names or URLs separated by commas") ?? [...DEFAULT_CHANNELS],
    allowPipOptions: flagOrBoolean(values, env, "allow-pip-options"),
    createTimeoutMs: Math.round(timeoutSeconds * 1000),
  };
  const lockMismatch = parsed(values, env, "lock-mismatch", (t) => (t.trim() === "error" || t.trim() === "spec" ? (t.trim() as "error" | "spec") : undefined), "error or spec");
  if (lockMismatch !== undefined) options.lockMismatch = lockMismatch;
  if (flagOrBoolean(values, env, "no-install-lock")) options.lockAtInstall = false;
  const packageManager = parsed(values, env, "package-manager", parsePackageManager, "mamba, micromamba, conda or an absolute path to one of them");
  if (packageManager !== undefined) options.packageManager = packageManager;
  const allowed = parsed(values, env, "allowed-channels", parseChannelList("allowed-channels"), "channel names or URLs separated by commas");
  if (allowed !== undefined) options.allowedChannels = allowed;
  const micromambaUrl = parsed(values, env, "micromamba-url", parseMicromambaUrl, "an http(s) URL without credentials");
  if (micromambaUrl !== undefined) options.micromambaUrl = micromambaUrl;
  const maxEnvs = parsed(values, env, "cache-max-envs", parseCount, "a whole number, e.g. 20");
  if (maxEnvs !== undefined) options.cacheMaxEnvs = maxEnvs;
  const maxSize = parsed(values, env, "cache-max-size", parseSize, "a size such as 50G, 500MB or 1024 (bytes)");
  if (maxSize !== undefined) options.cacheMaxSizeBytes = maxSize;
  const maxAge = parsed(values, env, "cache-max-age", parseDuration, "a duration such as 7d, 12h, 30m or 90 (seconds)");
  if (maxAge !== undefined) options.cacheMaxAgeMs = maxAge;
  return options;
}
