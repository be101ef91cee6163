/** Validation of the `config` that `start` receives from the Hypha server (or any other caller). */
import { ConfigError } from "../errors.js";
import { registerSecret } from "../redact.js";
import { MANIFEST_TYPES } from "../env/spec/manifest.js";
import type { StartConfig } from "../session/types.js";

export type ProgressCallback = (info: Record<string, unknown>) => unknown;

export interface ValidatedStart {
  config: StartConfig;
  /** The remote progress function, separated from the config (never stored with the session). */
  progressCallback?: ProgressCallback;
  /** Service id `start` waits for; false = detached (return once launched). */
  waitForService: string | false;
}

const REQUIRED_STRINGS = ["id", "app_id", "workspace", "client_id", "server_url"] as const;
const OPTIONAL_STRINGS = ["app_files_base_url", "token", "entry_point", "artifact_id"] as const;
const MAX_ID_CHARS = 200;
const SERVICE_ID = /^[A-Za-z0-9_-][A-Za-z0-9_.:-]*$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Returns a shallow copy without hypha-rpc's `_rtype` marker (e.g. "pydantic-model"). */
export function stripRtype(value: Record<string, unknown>): Record<string, unknown> {
  const { _rtype: _ignored, ...rest } = value;
  return rest;
}

function requireUrl(value: string, key: string, protocols: string[]): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`start config: '${key}' is not a valid URL; expected something like http://127.0.0.1:9527.`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(`start config: '${key}' must use ${protocols.join(" or ")}; got '${url.protocol}'.`);
  }
}

function readWaitForService(manifest: Record<string, unknown>): string | false {
  const startup = manifest.startup_config;
  const value = isRecord(startup) ? startup.wait_for_service : undefined;
  if (value === undefined || value === null || value === true) return "default";
  // "" makes the server wait for the client only (apps.py): nothing for start to wait on.
  if (value === false || value === "") return false;
  if (typeof value === "string" && SERVICE_ID.test(value)) {
    // The server waits for the part after the first ":" ("client:svc" → "svc"); so must we.
    const id = value.includes(":") ? value.split(":")[1]! : value;
    if (id !== "") return id;
  }
  throw new ConfigError("manifest startup_config.wait_for_service must be a service id (e.g. \"default\") or false for a detached app.");
}

/** Validates a raw start config; registers its token as a secret. Throws ConfigError naming the key. */
export function validateStartConfig(raw: unknown, defaultTimeoutS: number): ValidatedStart {
  if (!isRecord(raw)) {
    throw new ConfigError("start(config): config must be an object with id, app_id, workspace, client_id, server_url and manifest.");
  }
  const input = stripRtype(raw);
  if (typeof input.token === "string") registerSecret(input.token);
  const out: Record<string, unknown> = {};
  for (const key of REQUIRED_STRINGS) {
    const value = input[key];
    if (typeof value !== "string" || value.length === 0) {
      throw new ConfigError(`start config: '${key}' is required and must be a non-empty string.`);
    }
    if (value.includes("\0")) throw new ConfigError(`start config: '${key}' contains a NUL byte.`);
    // Ids name leases, working dirs and Hypha clients: refuse absurd lengths before anything is built.
    if (key !== "server_url" && value.length > MAX_ID_CHARS) {
      throw new ConfigError(`start config: '${key}' is longer than ${MAX_ID_CHARS} characters; use the ids the Hypha server issues.`);
    }
    out[key] = value;
  }
  for (const key of OPTIONAL_STRINGS) {
    const value = input[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== "string") throw new ConfigError(`start config: '${key}' must be a string when given.`);
    out[key] = value;
  }
  const id = out.id as string;
  const workspace = out.workspace as string;
  if (!id.startsWith(`${workspace}/`) || id.length === workspace.length + 1) {
    throw new ConfigError(`start config: 'id' must be '<workspace>/<client_id>' with workspace '${workspace}'; got '${id}'.`);
  }
  requireUrl(out.server_url as string, "server_url", ["http:", "https:", "ws:", "wss:"]);
  if (typeof out.app_files_base_url === "string") requireUrl(out.app_files_base_url, "app_files_base_url", ["http:", "https:"]);

  const timeout = input.timeout;
  if (timeout !== undefined && timeout !== null) {
    if (typeof timeout !== "number" || !Number.isFinite(timeout) || timeout <= 0) {
      throw new ConfigError("start config: 'timeout' must be a positive number of seconds (e.g. 30 or 2.5).");
    }
    out.timeout = timeout;
  } else {
    out.timeout = defaultTimeoutS;
  }
  if (input.disable_ssl !== undefined && input.disable_ssl !== null) {
    if (typeof input.disable_ssl !== "boolean") throw new ConfigError("start config: 'disable_ssl' must be true or false.");
    out.disable_ssl = input.disable_ssl;
  }
  if (!isRecord(input.manifest)) {
    throw new ConfigError("start config: 'manifest' is required and must be an object (the app's manifest).");
  }
  const manifest = stripRtype(input.manifest);
  if (typeof manifest.type === "string" && !MANIFEST_TYPES.includes(manifest.type)) {
    throw new ConfigError(`start config: manifest type '${manifest.type}' is not supported by this worker; it runs ${MANIFEST_TYPES.map((t) => `'${t}'`).join(", ")} apps.`);
  }
  out.manifest = manifest;

  const callback = input.progress_callback;
  if (callback !== undefined && callback !== null && typeof callback !== "function") {
    throw new ConfigError("start config: 'progress_callback' must be a function when given.");
  }
  return {
    config: out as unknown as StartConfig,
    ...(typeof callback === "function" ? { progressCallback: callback as ProgressCallback } : {}),
    waitForService: readWaitForService(manifest),
  };
}
