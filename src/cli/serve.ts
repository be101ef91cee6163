/** `serve`: register the worker on a Hypha server and run apps until SIGINT/SIGTERM. */
import { ConfigError, describeError } from "../errors.js";
import { createEnvManager } from "../env/env-manager.js";
import { createLogger } from "../logger.js";
import { registerSecret } from "../redact.js";
import { WorkerConnection } from "../hypha/serve-connection.js";
import { DEFAULT_CONNECT_ATTEMPTS } from "../hypha/connect-retry.js";
import { validateServiceId, type Visibility } from "../hypha/service.js";
import { CondaWorker } from "../worker/conda-worker.js";
import { defaultWorkingDir, parseWorkspaceList, resolvePassEnv } from "../worker/options.js";
import type { CommandContext, CommandDefinition } from "./command.js";
import { ENV_OPTION_SPECS, ENV_OPTIONS_HELP, resolveEnvOptions } from "./env-options.js";
import { createProgressRenderer } from "./render-progress.js";
import { watchSignals } from "./signals.js";

const USAGE = `Usage: hypha-conda-worker serve --server-url URL [options]

Registers a Hypha "server-app-worker" service that runs conda-python apps, prints the registered
service id on stdout, and serves until SIGINT/SIGTERM (stop every session, unregister, exit 0; a
second signal exits at once).

Connection (flag > environment variable):
  --server-url URL            Hypha server, e.g. https://hypha.aicell.io [HYPHA_SERVER_URL; required]
  --workspace WS              workspace to register in (the token's workspace) [HYPHA_WORKSPACE]
  --token TOKEN               the worker's token; never passed to apps [HYPHA_TOKEN]
  --service-id ID             service id (letters, digits, -, _) [HYPHA_SERVICE_ID; default conda-worker]
  --client-id ID              client id of the worker's connection [HYPHA_CLIENT_ID; default random]
  --visibility public|protected  [HYPHA_VISIBILITY; default protected, which still lets the server's
                              internal client (workspace public) call the worker]
  --disable-ssl               do not verify TLS certificates of the server
  --use-local-url             ask the server to give apps its local URL (worker next to the server)
  --connect-attempts N        attempts at the first connection before giving up; temporary failures are
                              retried with back-off and jitter, a rejected token or bad URL is not
                              [HYPHA_CONDA_CONNECT_ATTEMPTS; default ${DEFAULT_CONNECT_ATTEMPTS}; 0 = no limit]

Worker:
  --authorized-workspaces A,B only these workspaces may start apps [HYPHA_CONDA_AUTHORIZED_WORKSPACES]
  --working-dir DIR           per-session working directories [HYPHA_CONDA_WORKING_DIR; default under the temp dir]
  --pass-env NAME[=VALUE]     pass a variable to every app; repeatable (HYPHA_*, CONDA_*, PATH... refused)
  -v, --verbose               debug logs on stderr

${ENV_OPTIONS_HELP}
`;

const VISIBILITIES: readonly Visibility[] = ["public", "protected"];

/** Reads a setting: the flag when given, else the environment variable when non-empty. */
function setting(values: Record<string, unknown>, env: NodeJS.ProcessEnv, flag: string, variable: string): string | undefined {
  const fromFlag = values[flag];
  if (typeof fromFlag === "string" && fromFlag !== "") return fromFlag;
  const fromEnv = env[variable];
  return fromEnv !== undefined && fromEnv !== "" ? fromEnv : undefined;
}

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
  useLocalUrl: boolean;
  /** Attempts at the first connection (0 = no limit). */
  connectAttempts: number;
  verbose: boolean;
}

function resolveConnectAttempts(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_CONNECT_ATTEMPTS;
  if (!/^\d{1,6}$/.test(raw)) throw new ConfigError(`--connect-attempts (HYPHA_CONDA_CONNECT_ATTEMPTS) must be a whole number of attempts (0 = no limit), got '${raw}'.`);
  return Number(raw);
}

/** Validates every serve setting before anything is started. */
export function resolveServeSettings(values: Record<string, unknown>, env: NodeJS.ProcessEnv): ServeSettings {
  const serverUrl = setting(values, env, "server-url", "HYPHA_SERVER_URL");
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
  const visibility = (setting(values, env, "visibility", "HYPHA_VISIBILITY") ?? "protected") as Visibility;
  if (!VISIBILITIES.includes(visibility)) {
    throw new ConfigError(`--visibility (HYPHA_VISIBILITY) must be public or protected, got '${visibility}'.`);
  }
  const serviceId = validateServiceId(setting(values, env, "service-id", "HYPHA_SERVICE_ID") ?? "conda-worker");
  const clientId = setting(values, env, "client-id", "HYPHA_CLIENT_ID");
  if (clientId !== undefined && !/^[A-Za-z0-9_-]{1,128}$/.test(clientId)) {
    throw new ConfigError("--client-id (HYPHA_CLIENT_ID) may contain only letters, digits, '-' and '_'.");
  }
  const workspace = setting(values, env, "workspace", "HYPHA_WORKSPACE");
  const token = setting(values, env, "token", "HYPHA_TOKEN");
  const authorized = parseWorkspaceList(setting(values, env, "authorized-workspaces", "HYPHA_CONDA_AUTHORIZED_WORKSPACES"), "--authorized-workspaces (HYPHA_CONDA_AUTHORIZED_WORKSPACES)");
  return {
    serverUrl,
    ...(workspace ? { workspace } : {}),
    ...(token ? { token } : {}),
    serviceId,
    ...(clientId ? { clientId } : {}),
    visibility,
    ...(authorized ? { authorizedWorkspaces: authorized } : {}),
    workingDir: setting(values, env, "working-dir", "HYPHA_CONDA_WORKING_DIR") ?? defaultWorkingDir(),
    passEnv: resolvePassEnv((values["pass-env"] as string[] | undefined) ?? [], env),
    disableSsl: values["disable-ssl"] === true,
    useLocalUrl: values["use-local-url"] === true,
    connectAttempts: resolveConnectAttempts(setting(values, env, "connect-attempts", "HYPHA_CONDA_CONNECT_ATTEMPTS")),
    verbose: values.verbose === true,
  };
}

async function run(values: Record<string, unknown>, _positionals: string[], ctx: CommandContext): Promise<number> {
  const settings = resolveServeSettings(values, ctx.env);
  const envOptions = resolveEnvOptions(values, ctx.env);
  registerSecret(settings.token);
  const logger = createLogger({ level: settings.verbose ? "debug" : "info", write: (line) => ctx.stderr.write(line) });
  const env = createEnvManager(envOptions, { env: ctx.env });
  const renderer = createProgressRenderer({ stream: ctx.stderr, isTTY: ctx.isTTY });
  try {
    const pm = await env.packageManager((event) => renderer.update("package manager", event));
    logger.info(`package manager: ${pm.name} ${pm.version} (${pm.path})`);
  } finally {
    renderer.close();
  }
  const worker = new CondaWorker({
    env,
    workingDir: settings.workingDir,
    passEnv: settings.passEnv,
    logger,
    ...(settings.authorizedWorkspaces ? { authorizedWorkspaces: settings.authorizedWorkspaces } : {}),
    ...(settings.workspace ? { workerWorkspace: settings.workspace } : {}),
  });
  const connection = new WorkerConnection(worker, {
    serverUrl: settings.serverUrl,
    ...(settings.workspace ? { workspace: settings.workspace } : {}),
    ...(settings.token ? { token: settings.token } : {}),
    ...(settings.clientId ? { clientId: settings.clientId } : {}),
    disableSsl: settings.disableSsl,
    firstConnect: { attempts: settings.connectAttempts },
    logger: logger.child("hypha"),
    service: {
      serviceId: settings.serviceId,
      visibility: settings.visibility,
      useLocalUrl: settings.useLocalUrl,
      ...(settings.authorizedWorkspaces ? { authorizedWorkspaces: settings.authorizedWorkspaces } : {}),
      logger,
    },
  });
  // hypha-rpc can surface a late reply to a client that already left as an unhandled rejection;
  // a long-running worker logs it instead of crashing with every session.
  const onUnhandled = (reason: unknown) => logger.warn(`unhandled rejection (ignored): ${describeError(reason)}`);
  process.on("unhandledRejection", onUnhandled);
  const signals = watchSignals(() => {
    logger.warn("second signal: exiting without waiting for sessions to stop");
    process.exit(1);
  });
  try {
    // A signal while the first connection is still being retried ends serve at once (nothing runs yet).
    const connecting = connection.start();
    const first = await Promise.race([connecting.then((id) => ({ id })), signals.received.then((signal) => ({ signal }))]);
    if (!("id" in first)) {
      logger.info(`${first.signal} while connecting: stopping`);
      await connection.close();
      await connecting.catch(() => undefined);
      return 0;
    }
    const serviceId = first.id;
    worker.setWorkerWorkspace(serviceId.split("/")[0]!);
    ctx.stdout.write(`${serviceId}\n`);
    logger.info(`serving as ${serviceId} (visibility ${settings.visibility}); press Ctrl-C to stop`);
    const signal = await signals.received;
    logger.info(`${signal}: stopping ${worker.sessionIds().length} session(s) and unregistering`);
    await worker.shutdown().catch((error) => logger.error(`stopping sessions: ${describeError(error)}`));
    await connection.close();
    logger.info("stopped");
    return 0;
  } catch (error) {
    await connection.close().catch(() => undefined);
    throw error;
  } finally {
    signals.dispose();
    process.off("unhandledRejection", onUnhandled);
  }
}

export const serveCommand: CommandDefinition = {
  name: "serve",
  summary: "register the worker on a Hypha server and run apps",
  usage: USAGE,
  options: {
    ...ENV_OPTION_SPECS,
    "server-url": { type: "string" },
    workspace: { type: "string" },
    token: { type: "string" },
    "service-id": { type: "string" },
    "client-id": { type: "string" },
    visibility: { type: "string" },
    "authorized-workspaces": { type: "string" },
    "working-dir": { type: "string" },
    "pass-env": { type: "string", multiple: true },
    "disable-ssl": { type: "boolean" },
    "use-local-url": { type: "boolean" },
    "connect-attempts": { type: "string" },
    verbose: { type: "boolean", short: "v" },
  },
  run,
};
