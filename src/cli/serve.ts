/** `serve`: register the worker on a Hypha server and run apps until SIGINT/SIGTERM. */
import { describeError } from "../errors.js";
import { createEnvManager } from "../env/env-manager.js";
import { createLogger } from "../logger.js";
import { registerSecret } from "../redact.js";
import { WorkerConnection } from "../hypha/serve-connection.js";
import { DEFAULT_CONNECT_ATTEMPTS } from "../hypha/connect-retry.js";
import { CondaWorker } from "../worker/conda-worker.js";
import type { CommandContext, CommandDefinition } from "./command.js";
import { ENV_OPTION_SPECS, ENV_OPTIONS_HELP, resolveEnvOptions, upstreamVariableNotes } from "./env-options.js";
import { normalizeServeArgv, resolveServeSettings } from "./serve-settings.js";
import { createProgressRenderer } from "./render-progress.js";
import { watchSignals } from "./signals.js";

export { resolveServeSettings, type ServeSettings } from "./serve-settings.js";

const USAGE = `Usage: hypha-conda-worker serve --server-url URL [options]

Registers a Hypha "server-app-worker" service that runs conda-python apps, prints the registered
service id on stdout, and serves until SIGINT/SIGTERM (stop every session, unregister, exit 0; a
second signal exits at once).

Connection (flag > environment variable > default):
  --server-url URL            Hypha server, e.g. https://hypha.aicell.io [HYPHA_SERVER_URL; required]
  --workspace WS              workspace to register in (the token's workspace) [HYPHA_WORKSPACE]
  --token TOKEN               the worker's token; never passed to apps [HYPHA_TOKEN]
  --service-id ID             service id (letters, digits, -, _) [HYPHA_SERVICE_ID; default conda-worker]
  --client-id ID              client id of the worker's connection [HYPHA_CLIENT_ID; default random]
  --visibility public|protected  [HYPHA_VISIBILITY; default protected, which still lets the server's
                              internal client (workspace public) call the worker]
  --disable-ssl               do not verify TLS certificates of the server [HYPHA_DISABLE_SSL=1]
  --use-local-url [true|false|URL]  ask the server to give apps its local URL (worker next to the
                              server), or URL (e.g. a proxy)
  --connect-attempts N        attempts at the first connection before giving up; temporary failures are
                              retried with back-off and jitter, a rejected token or bad URL is not
                              [HYPHA_CONDA_CONNECT_ATTEMPTS; default ${DEFAULT_CONNECT_ATTEMPTS}; 0 = no limit]

Worker (several variables: the first set one wins):
  --authorized-workspaces A,B only these workspaces may start apps
                              [HYPHA_CONDA_AUTHORIZED_WORKSPACES > HYPHA_AUTHORIZED_WORKSPACES > CONDA_AUTHORIZED_WORKSPACES]
  --working-dir DIR           per-session working directories; default under the temp dir
                              [HYPHA_CONDA_WORKING_DIR > HYPHA_WORKING_DIR > CONDA_WORKING_DIR]
  --pass-env NAME[=VALUE]     pass a variable to every app; repeatable (HYPHA_*, CONDA_*, PATH... refused)
  --log-shape items|seed      get_logs answer: items = Hypha 0.21.135's {items, total, offset, limit}
                              (+ the seed's log/error lists when untyped); seed = the seed's lists only
                              [HYPHA_CONDA_LOG_SHAPE; default items]
  -v, --verbose               debug logs on stderr [CONDA_VERBOSE=1; or HYPHA_LOGLEVEL=DEBUG|INFO|WARNING|ERROR]

Upstream's command line (python -m hypha.workers.conda ...) works with the same flags; HYPHA_RUN_FROM_ENV
is accepted and ignored (the environment is always read).

${ENV_OPTIONS_HELP}
`;

async function run(values: Record<string, unknown>, _positionals: string[], ctx: CommandContext): Promise<number> {
  const settings = resolveServeSettings(values, ctx.env);
  const envOptions = resolveEnvOptions(values, ctx.env);
  registerSecret(settings.token);
  const logger = createLogger({ level: settings.logLevel, write: (line) => ctx.stderr.write(line) });
  for (const note of [...settings.notes, ...upstreamVariableNotes(values, ctx.env)]) logger.info(note);
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
    logShape: settings.logShape,
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
  normalizeArgv: normalizeServeArgv,
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
    "use-local-url": { type: "string" },
    "connect-attempts": { type: "string" },
    "log-shape": { type: "string" },
    verbose: { type: "boolean", short: "v" },
  },
  run,
};
