/**
 * The app child's environment, built from scratch: the env's activation variables, a few harmless basics
 * from the worker (HOME, LANG, TZ...), the app's HYPHA_* identity (with the APP's token from the start
 * config), the operator's pass-through variables and the runner's own variables. Nothing else of the
 * worker's environment (its token, cloud credentials, ...) reaches the app.
 */
import { SessionError } from "../errors.js";
import type { StartConfig } from "./types.js";

/** Worker variables an app may inherit: locale, time zone, terminal and temp dir; never credentials. */
export const INHERITED_BASICS = ["HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "TERM", "TMPDIR", "SHELL"] as const;

/** The variables that tell the app who it is on Hypha (what upstream's worker sets). */
export const APP_IDENTITY_VARS = ["HYPHA_SERVER_URL", "HYPHA_WORKSPACE", "HYPHA_CLIENT_ID", "HYPHA_TOKEN", "HYPHA_APP_ID"] as const;

const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_VALUE_LENGTH = 128 * 1024;

export interface ChildEnvInput {
  /** Variables that activating the env sets (EnvResult.activation). */
  activation: Record<string, string>;
  config: Pick<StartConfig, "server_url" | "workspace" | "client_id" | "token" | "app_id">;
  /** Operator pass-through (SessionDeps.passEnv). */
  passEnv: Record<string, string>;
  /** What the runner command needs (RunnerCommand.env). */
  runnerEnv: Record<string, string>;
  /** The worker's environment, read only for INHERITED_BASICS (defaults to process.env). */
  parentEnv?: NodeJS.ProcessEnv;
}

/**
 * Returns the complete child environment. Later layers win: basics < activation < passEnv < identity <
 * runner, so neither the operator nor an env's activation script can replace the app's HYPHA_* identity.
 */
export function buildChildEnv(input: ChildEnvInput): Record<string, string> {
  const parent = input.parentEnv ?? process.env;
  const env: Record<string, string> = {};
  for (const name of INHERITED_BASICS) {
    const value = parent[name];
    if (typeof value === "string" && isSafeValue(value)) env[name] = value;
  }
  addChecked(env, input.activation, "environment activation");
  addChecked(env, input.passEnv, "pass-through (--env)");
  const identity: Record<string, string> = {
    HYPHA_SERVER_URL: input.config.server_url,
    HYPHA_WORKSPACE: input.config.workspace,
    HYPHA_CLIENT_ID: input.config.client_id,
    HYPHA_APP_ID: input.config.app_id,
  };
  if (input.config.token) identity.HYPHA_TOKEN = input.config.token;
  // A pass-through HYPHA_TOKEN (e.g. the worker's) never stands in for a missing app token.
  if (!input.config.token) delete env.HYPHA_TOKEN;
  addChecked(env, identity, "start config");
  addChecked(env, input.runnerEnv, "runner command");
  return env;
}

function addChecked(target: Record<string, string>, source: Record<string, string>, origin: string): void {
  for (const [name, value] of Object.entries(source)) {
    if (!NAME_PATTERN.test(name)) {
      throw new SessionError("E_CONFIG", `Invalid environment variable name ${JSON.stringify(name)} from ${origin}: names must match [A-Za-z_][A-Za-z0-9_]*.`);
    }
    if (typeof value !== "string" || !isSafeValue(value)) {
      throw new SessionError("E_CONFIG", `Invalid value for environment variable ${name} from ${origin}: it must be a string without NUL characters, at most ${MAX_VALUE_LENGTH} characters.`);
    }
    target[name] = value;
  }
}

function isSafeValue(value: string): boolean {
  return !value.includes("\0") && value.length <= MAX_VALUE_LENGTH;
}
