/** `run`'s own flags (everything but the environment options), validated before anything starts. */
import { parseSeconds } from "../config.js";
import { UsageError, WorkerError } from "../errors.js";
import { resolvePassEnv } from "../worker/options.js";
import { parseCallArgs, parseCallTarget, type CallTarget } from "./run-call.js";

export const DEFAULT_RUN_TIMEOUT_S = 60;

export interface RunServer {
  url: string;
  token: string;
  workspace?: string;
}

export interface RunSettings {
  /** The app directory or manifest file, as given. */
  source: string;
  call?: CallTarget;
  callArgs: unknown[];
  timeoutS: number;
  /** Extra variables for the app (validated names; reserved names refused). */
  passEnv: Record<string, string>;
  /** Set with --server-url: the app's services go to that Hypha server. */
  server?: RunServer;
  verbose: boolean;
}

const WORKSPACE = /^[A-Za-z0-9][A-Za-z0-9_.@-]*$/;

function text(values: Record<string, unknown>, flag: string): string | undefined {
  const value = values[flag];
  return typeof value === "string" ? value : undefined;
}

/** Validates `--env KEY=VALUE` items with the worker's pass-through rules (HYPHA_*, PATH... refused). */
export function resolveRunEnv(items: readonly string[]): Record<string, string> {
  for (const item of items) {
    if (!item.includes("=")) throw new UsageError(`run: --env ${JSON.stringify(item)} must be KEY=VALUE, e.g. --env COUNTER_INTERVAL=0.5.`);
  }
  try {
    return resolvePassEnv(items, {});
  } catch (error) {
    const message = error instanceof WorkerError ? error.message.replace(/--pass-env/g, "--env").replace(/passed through/g, "set with --env") : String(error);
    throw new UsageError(`run: ${message}`, { cause: error });
  }
}

function resolveServer(values: Record<string, unknown>, env: NodeJS.ProcessEnv): RunServer | undefined {
  const url = text(values, "server-url");
  const workspace = text(values, "workspace");
  if (url === undefined) {
    if (text(values, "token") !== undefined || workspace !== undefined) {
      throw new UsageError("run: --token and --workspace only apply with --server-url URL (the Hypha server to register the app's services on).");
    }
    return undefined;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`run: --server-url ${JSON.stringify(url)} is not a URL; expected e.g. https://hypha.aicell.io.`);
  }
  if (!["http:", "https:", "ws:", "wss:"].includes(parsed.protocol)) throw new UsageError("run: --server-url must be an http(s) or ws(s) URL.");
  const token = text(values, "token") ?? (env.HYPHA_TOKEN || undefined);
  if (!token) throw new UsageError("run: --server-url needs a token: pass --token TOKEN or set HYPHA_TOKEN.");
  if (/[\s\0]/.test(token)) throw new UsageError("run: the token contains whitespace or a NUL byte; pass the token exactly as issued.");
  if (workspace !== undefined && !WORKSPACE.test(workspace)) {
    throw new UsageError(`run: --workspace ${JSON.stringify(workspace)} is not a workspace name (letters, digits, '_', '.', '@', '-').`);
  }
  return { url, token, ...(workspace ? { workspace } : {}) };
}

/** Parses and validates run's flags and positionals: `<app-dir|manifest> [JSON_ARGS]`. */
export function resolveRunSettings(values: Record<string, unknown>, positionals: string[], env: NodeJS.ProcessEnv): RunSettings {
  const [source, jsonArgs, ...extra] = positionals;
  if (source === undefined) throw new UsageError("run: give the app directory or its manifest, e.g. hypha-conda-worker run fixtures/apps/hello.");
  const callText = text(values, "call");
  if (jsonArgs !== undefined && callText === undefined) {
    throw new UsageError(`run: unexpected argument ${JSON.stringify(jsonArgs)}; JSON arguments only follow --call SERVICE.FUNCTION.`);
  }
  if (extra.length > 0) throw new UsageError(`run: unexpected argument ${JSON.stringify(extra[0])}; give one app and at most one JSON_ARGS after --call (quote it: '[1, 2]').`);
  const timeoutText = text(values, "timeout");
  const timeoutS = timeoutText === undefined ? DEFAULT_RUN_TIMEOUT_S : parseSeconds(timeoutText);
  if (timeoutS === undefined) throw new UsageError(`run: --timeout ${JSON.stringify(timeoutText)} is not a positive number of seconds, e.g. --timeout 30.`);
  const server = resolveServer(values, env);
  return {
    source,
    ...(callText !== undefined ? { call: parseCallTarget(callText) } : {}),
    callArgs: parseCallArgs(jsonArgs),
    timeoutS,
    passEnv: resolveRunEnv((values.env as string[] | undefined) ?? []),
    ...(server ? { server } : {}),
    verbose: values.verbose === true,
  };
}
