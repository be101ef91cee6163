/**
 * `serve` settings: flag > environment variable > default, where each flag may be read from several
 * variables in a fixed order: this worker's own name, then the names upstream's conda worker
 * (hypha/workers/conda.py, docs/conda-worker.md) reads, so an upstream deployment switches unchanged.
 */
import { ConfigError } from "../errors.js";
import { parseBooleanText } from "../config.js";
import { DEFAULT_CONNECT_ATTEMPTS } from "../hypha/connect-retry.js";
import { validateServiceId, type Visibility } from "../hypha/service.js";
import type { LogLevel } from "../logger.js";
import { DEFAULT_LOG_SHAPE, parseLogShape, type LogShape } from "../session/log-answer.js";
import { defaultWorkingDir, parseWorkspaceList, resolvePassEnv } from "../worker/options.js";

/**
 * Variables per flag, first set one wins. Upstream's CLI reads `HYPHA_<NAME>` (its `HYPHA_CONDA_*` equal
 * ours), its docs name `HYPHA_CACHE_DIR`-style variables, its built-in and env-only modes `CONDA_*`.
 */
export const SERVE_VARIABLES: Record<string, readonly string[]> = {
  "server-url": ["HYPHA_SERVER_URL"],
  workspace: ["HYPHA_WORKSPACE"],
  token: ["HYPHA_TOKEN"],
  "service-id": ["HYPHA_SERVICE_ID"],
  "client-id": ["HYPHA_CLIENT_ID"],
  visibility: ["HYPHA_VISIBILITY"],
  "authorized-workspaces": ["HYPHA_CONDA_AUTHORIZED_WORKSPACES", "HYPHA_AUTHORIZED_WORKSPACES", "CONDA_AUTHORIZED_WORKSPACES"],
  "working-dir": ["HYPHA_CONDA_WORKING_DIR", "HYPHA_WORKING_DIR", "CONDA_WORKING_DIR"],
  "log-shape": ["HYPHA_CONDA_LOG_SHAPE"],
  "connect-attempts": ["HYPHA_CONDA_CONNECT_ATTEMPTS"],
  "disable-ssl": ["HYPHA_DISABLE_SSL"],
  verbose: ["CONDA_VERBOSE"],
};

/** Upstream variables that mean nothing here: read, noted in the log, otherwise ignored. */
const IGNORED_VARIABLES: Record<string, string> = {
  HYPHA_RUN_FROM_ENV: "serve always reads its settings from the environment too",
};

// Python logging level names (HYPHA_LOGLEVEL) → this worker's levels.
const PYTHON_LEVELS: Record<string, LogLevel> = { DEBUG: "debug", INFO: "info", WARNING: "warn", WARN: "warn", ERROR: "error", CRITICAL: "error" };

const VISIBILITIES: readonly Visibility[] = ["public", "protected"];

export interface ServeSettings {
  serverUrl: string;
  workspace?: string;
  token?: string;
  serviceId: string;
  clientId?: string;
  visibility: Visibility;
  authorizedWorkspaces?: string[];
  workingDir: string;
  passEnv: Record<string, string>;
  disableSsl: boolean;
  /** true/false, or the URL the server should hand apps (upstream's `--use-local-url URL`). */
  useLocalUrl: boolean | string;
  logLevel: LogLevel;
  logShape: LogShape;
  /** Attempts at the first connection (0 = no limit). */
  connectAttempts: number;
  /** Lines for the operator's log: which upstream names were read or ignored (names only, never values). */
  notes: string[];
}

interface Found {
  value: string;
  /** `--flag` or the variable's name. */
  source: string;
}

class SettingReader {
  readonly notes: string[] = [];
  constructor(private readonly values: Record<string, unknown>, private readonly env: NodeJS.ProcessEnv) {}

  /** The flag when given, else the first non-empty variable of the flag's list. */
  find(flag: string): Found | undefined {
    const fromFlag = this.values[flag];
    if (typeof fromFlag === "string" && fromFlag !== "") return { value: fromFlag, source: `--${flag}` };
    const variables = SERVE_VARIABLES[flag] ?? [];
    for (const [index, variable] of variables.entries()) {
      const fromEnv = this.env[variable];
      if (fromEnv === undefined || fromEnv === "") continue;
      if (index > 0) this.notes.push(`--${flag}: read from ${variable} (upstream's name; ${variables[0]} takes precedence)`);
      return { value: fromEnv, source: variable };
    }
    return undefined;
  }

  string(flag: string): string | undefined {
    return this.find(flag)?.value;
  }

  /** A boolean flag, or its variable as 1/true/yes or 0/false/no. */
  boolean(flag: string): boolean {
    if (this.values[flag] === true) return true;
    const found = this.find(flag);
    if (!found) return false;
    const parsed = parseBooleanText(found.value);
    if (parsed === undefined) throw new ConfigError(`${found.source} must be 1/true/yes or 0/false/no, got '${found.value}'.`);
    return parsed;
  }
}

/** Describes where a value may come from, for error messages: `--flag (VAR, VAR2)`. */
function sources(flag: string): string {
  const variables = SERVE_VARIABLES[flag] ?? [];
  return variables.length > 0 ? `--${flag} (${variables.join(", ")})` : `--${flag}`;
}

function resolveServerUrl(reader: SettingReader): string {
  const serverUrl = reader.string("server-url");
  if (!serverUrl) throw new ConfigError("serve needs the Hypha server URL: pass --server-url URL or set HYPHA_SERVER_URL.");
  let parsed: URL;
  try {
    parsed = new URL(serverUrl);
  } catch {
    throw new ConfigError(`--server-url (HYPHA_SERVER_URL) '${serverUrl}' is not a URL; expected e.g. https://hypha.aicell.io.`);
  }
  if (!["http:", "https:", "ws:", "wss:"].includes(parsed.protocol)) {
    throw new ConfigError("--server-url (HYPHA_SERVER_URL) must be an http(s) or ws(s) URL.");
  }
  return serverUrl;
}

/** `--use-local-url` alone, or with upstream's value: true, false, or an http(s) URL for apps. */
function resolveUseLocalUrl(value: unknown): boolean | string {
  if (value === undefined || value === true) return value === true;
  const text = String(value);
  const flag = parseBooleanText(text);
  if (flag !== undefined && text !== "") return flag;
  if (/^https?:\/\/[^\s/@]+(\/\S*)?$/.test(text)) return text;
  throw new ConfigError(`--use-local-url takes true, false or the http(s) URL apps should use for the server, got '${text}'.`);
}

function resolveConnectAttempts(reader: SettingReader): number {
  const raw = reader.string("connect-attempts");
  if (raw === undefined) return DEFAULT_CONNECT_ATTEMPTS;
  if (!/^\d{1,6}$/.test(raw)) throw new ConfigError(`--connect-attempts (HYPHA_CONDA_CONNECT_ATTEMPTS) must be a whole number of attempts (0 = no limit), got '${raw}'.`);
  return Number(raw);
}

function resolveLogLevel(reader: SettingReader, env: NodeJS.ProcessEnv): LogLevel {
  if (reader.boolean("verbose")) return "debug";
  const python = env.HYPHA_LOGLEVEL;
  if (python === undefined || python === "") return "info";
  const level = PYTHON_LEVELS[python.trim().toUpperCase()];
  if (!level) throw new ConfigError(`HYPHA_LOGLEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got '${python}'.`);
  reader.notes.push(`log level ${level} from HYPHA_LOGLEVEL (upstream's name; --verbose takes precedence)`);
  return level;
}

/** Validates every serve setting before anything is started. */
export function resolveServeSettings(values: Record<string, unknown>, env: NodeJS.ProcessEnv): ServeSettings {
  const reader = new SettingReader(values, env);
  const serverUrl = resolveServerUrl(reader);
  const visibility = (reader.string("visibility") ?? "protected") as Visibility;
  if (!VISIBILITIES.includes(visibility)) throw new ConfigError(`--visibility (HYPHA_VISIBILITY) must be public or protected, got '${visibility}'.`);
  const serviceId = validateServiceId(reader.string("service-id") ?? "conda-worker");
  const clientId = reader.string("client-id");
  if (clientId !== undefined && !/^[A-Za-z0-9_-]{1,128}$/.test(clientId)) {
    throw new ConfigError("--client-id (HYPHA_CLIENT_ID) may contain only letters, digits, '-' and '_'.");
  }
  const workspace = reader.string("workspace");
  const token = reader.string("token");
  const authorized = parseWorkspaceList(reader.string("authorized-workspaces"), sources("authorized-workspaces"));
  const shape = reader.find("log-shape");
  const settings: ServeSettings = {
    serverUrl,
    ...(workspace ? { workspace } : {}),
    ...(token ? { token } : {}),
    serviceId,
    ...(clientId ? { clientId } : {}),
    visibility,
    ...(authorized ? { authorizedWorkspaces: authorized } : {}),
    workingDir: reader.string("working-dir") ?? defaultWorkingDir(),
    passEnv: resolvePassEnv((values["pass-env"] as string[] | undefined) ?? [], env),
    disableSsl: reader.boolean("disable-ssl"),
    useLocalUrl: resolveUseLocalUrl(values["use-local-url"]),
    logLevel: resolveLogLevel(reader, env),
    logShape: shape ? parseLogShape(shape.value, shape.source) : DEFAULT_LOG_SHAPE,
    connectAttempts: resolveConnectAttempts(reader),
    notes: reader.notes,
  };
  for (const [variable, why] of Object.entries(IGNORED_VARIABLES)) {
    if (env[variable] !== undefined && env[variable] !== "") reader.notes.push(`${variable} is ignored: ${why}`);
  }
  return settings;
}

/**
 * Upstream's `--use-local-url` always takes a value (`--use-local-url true`), this worker's may stand
 * alone: fold a following value into `--use-local-url=VALUE`, and a bare flag into `=true`.
 */
export function normalizeServeArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (arg === "--") {
      out.push(...argv.slice(i));
      break;
    }
    if (arg !== "--use-local-url") {
      out.push(arg);
      continue;
    }
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith("-")) {
      out.push(`--use-local-url=${next}`);
      i += 1;
    } else out.push("--use-local-url=true");
  }
  return out;
}
