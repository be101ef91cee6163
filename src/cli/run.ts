/**
 * `run`: try an app locally. Resolves its env (progress on stderr), runs the entry point through the same
 * Session machinery as the worker with live output, and either calls one function of its service
 * (`--call`) or serves until Ctrl-C. With --server-url the app's services are registered on that Hypha
 * server, as in production.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { WorkerError, describeError } from "../errors.js";
import { createEnvManager } from "../env/env-manager.js";
import type { ServiceMode } from "../bridge/types.js";
import type { HyphaServer } from "../hypha/connect.js";
import { createLogger, type Logger } from "../logger.js";
import { redact, registerSecret } from "../redact.js";
import { createDirectoryFileSource } from "../session/app-files.js";
import { DEFAULT_LOG_LIMITS } from "../session/logs.js";
import { Session } from "../session/session.js";
import type { SessionDeps, StartConfig } from "../session/types.js";
import { DEFAULT_STOP_GRACE_MS } from "../worker/options.js";
import type { CommandContext, CommandDefinition } from "./command.js";
import { ENV_OPTION_SPECS, ENV_OPTIONS_HELP, resolveEnvOptions } from "./env-options.js";
import { createProgressRenderer } from "./render-progress.js";
import { manifestMemoDir } from "./manifest-memo.js";
import { loadLocalApp } from "./run-app-source.js";
import { callAndPrint, exitCodeOf, firstLine, serveUntilEnd, type RunContext } from "./run-modes.js";
import { resolveRunSettings, type RunSettings } from "./run-settings.js";
import { signalExitCode, watchSignals } from "./signals.js";

/** What HYPHA_SERVER_URL holds for an app run without a server (services stay inside `run`). */
export const LOCAL_SERVER_URL = "local://hypha-conda-worker";
export const LOCAL_WORKSPACE = "local";

const USAGE = `Usage: hypha-conda-worker run <app-dir|manifest> [options]

Builds (or reuses) the app's conda env with progress on stderr, runs its entry point through the same
session machinery as the worker, with the app's stdout on stdout and its stderr on stderr, and exits with
the app's exit code. Without --call it serves until Ctrl-C (SIGINT, exit 130) or SIGTERM (exit 143); a
second signal exits at once.

Options:
  --call SERVICE.FUNCTION [JSON_ARGS]
                         wait for the app's service, call the function with JSON_ARGS (a JSON array of
                         positional arguments, default []), print the JSON result on stdout, stop the app
                         and exit 0 (1 when the call failed). The app's own stdout goes to stderr then,
                         so stdout holds only the result.
  --timeout SECONDS      bound for the runner's start, for waiting for the service and for the call
                         [default 60]
  --env KEY=VALUE        add a variable to the app's environment; repeatable (HYPHA_*, CONDA_*, MAMBA_*,
                         PATH, PYTHON* and loader variables are refused)
  --server-url URL       register the app's services on this Hypha server instead of locally
  --token TOKEN          token for --server-url [default: HYPHA_TOKEN]; the app connects with it
  --workspace WS         workspace on that server [default: the token's]
  -v, --verbose          debug logs on stderr

Without --server-url the app's get_service() fails with "no Hypha server in local mode".

${ENV_OPTIONS_HELP}
`;

/** Starts the session and runs the mode's work; returns the exit code. */
async function drive(run: RunContext): Promise<number> {
  const { ctx, settings, session, app } = run;
  const renderer = createProgressRenderer({ stream: ctx.stderr, isTTY: ctx.isTTY });
  const appOutput = settings.call ? ctx.stderr : ctx.stdout;
  try {
    await session.start({
      files: createDirectoryFileSource(app.appDir),
      onProgress: (event) => renderer.update(app.appId, event),
      onOutput: (type, text) => (type === "stdout" ? appOutput : ctx.stderr).write(text),
    });
  } catch (error) {
    renderer.close();
    if (run.interrupted()) return 1;
    ctx.stderr.write(`error: ${firstLine(session.info().error ?? describeError(error))}\n`);
    return session.exit() ? exitCodeOf(session) : 1;
  }
  renderer.close();
  return settings.call ? callAndPrint(run) : serveUntilEnd(run);
}

async function connectCaller(settings: RunSettings): Promise<HyphaServer> {
  const server = settings.server!;
  // hypha-rpc is loaded only when a server is used: local runs start faster without it.
  const { connectToHypha } = await import("../hypha/connect.js");
  try {
    return await connectToHypha({
      server_url: server.url,
      token: server.token,
      ...(server.workspace ? { workspace: server.workspace } : {}),
    });
  } catch (error) {
    throw new WorkerError("E_HYPHA", `Could not connect to the Hypha server ${server.url}: ${redact(describeError(error))}. Check --server-url, --token and --workspace.`, { cause: error });
  }
}

async function buildDeps(settings: RunSettings, envOptions: ReturnType<typeof resolveEnvOptions>, workingRoot: string, logger: Logger, ctx: CommandContext): Promise<SessionDeps> {
  const serviceMode: ServiceMode = settings.server ? (await import("../worker/defaults.js")).defaultServiceMode() : { kind: "local" };
  return {
    env: createEnvManager(envOptions, { env: ctx.env }),
    specOptions: {
      channelMap: envOptions.channelMap,
      defaultChannels: envOptions.defaultChannels,
      allowPipOptions: envOptions.allowPipOptions,
      ...(envOptions.allowedChannels ? { allowedChannels: envOptions.allowedChannels } : {}),
      ...(envOptions.lockMismatch ? { lockMismatch: envOptions.lockMismatch } : {}),
    },
    workingRoot,
    serviceMode,
    passEnv: settings.passEnv,
    logLimits: DEFAULT_LOG_LIMITS,
    stopGraceMs: DEFAULT_STOP_GRACE_MS,
    logger: logger.child("session"),
  };
}

async function run(values: Record<string, unknown>, positionals: string[], ctx: CommandContext): Promise<number> {
  const settings = resolveRunSettings(values, positionals, ctx.env);
  const envOptions = resolveEnvOptions(values, ctx.env);
  const app = await loadLocalApp(settings.source, { memoDir: manifestMemoDir(envOptions.cacheDir) });
  registerSecret(settings.server?.token);
  const logger = createLogger({ level: settings.verbose ? "debug" : "info", write: (line) => ctx.stderr.write(line) });
  let interrupted = false;
  const signals = watchSignals((signal) => {
    ctx.stderr.write(`${signal} again: exiting without waiting for the app to stop\n`);
    process.exit(signalExitCode(signal));
  }, ctx.stdout);
  const workingRoot = await mkdtemp(path.join(os.tmpdir(), "hypha-conda-worker-run-"));
  let caller: HyphaServer | undefined;
  let session: Session | undefined;
  try {
    const connecting = settings.server ? connectCaller(settings) : Promise.resolve(undefined);
    const first = await Promise.race([connecting.then((server) => ({ server })), signals.received.then((signal) => ({ signal }))]);
    if ("signal" in first) {
      void connecting.then((server) => server?.disconnect()).catch(() => undefined);
      return signalExitCode(first.signal);
    }
    caller = first.server;
    const workspace = caller ? caller.config.workspace : LOCAL_WORKSPACE;
    const clientId = `${app.appId.replace(/[^A-Za-z0-9_-]/g, "-")}-${randomBytes(4).toString("hex")}`;
    const config: StartConfig = {
      id: `${workspace}/${clientId}`,
      app_id: app.appId,
      workspace,
      client_id: clientId,
      server_url: settings.server?.url ?? LOCAL_SERVER_URL,
      ...(settings.server ? { token: settings.server.token } : {}),
      timeout: settings.timeoutS,
      manifest: app.manifest,
    };
    session = new Session(await buildDeps(settings, envOptions, workingRoot, logger, ctx), config);
    logger.info(`running ${app.appId} from ${app.appDir} as ${config.id}${caller ? ` on ${settings.server!.url}` : " (local mode, no Hypha server)"}`);
    const driving = drive({ ctx, settings, app, session, caller, workspace, clientId, logger, interrupted: () => interrupted });
    const outcome = await Promise.race([driving.then((code) => ({ code })), signals.received.then((signal) => ({ signal }))]);
    if ("code" in outcome) return outcome.code;
    interrupted = true;
    driving.catch(() => undefined);
    logger.info(`${outcome.signal}: stopping the app`);
    await session.stop();
    return signalExitCode(outcome.signal);
  } finally {
    await session?.stop().catch((error: unknown) => logger.warn(`stopping the app: ${describeError(error)}`));
    await caller?.disconnect().catch(() => undefined);
    await rm(workingRoot, { recursive: true, force: true }).catch(() => undefined);
    signals.dispose();
  }
}

export const runCommand: CommandDefinition = {
  name: "run",
  summary: "run an app locally: build its env, run it, optionally call its service",
  usage: USAGE,
  allowPositionals: true,
  options: {
    ...ENV_OPTION_SPECS,
    call: { type: "string" },
    timeout: { type: "string" },
    env: { type: "string", multiple: true },
    "server-url": { type: "string" },
    token: { type: "string" },
    workspace: { type: "string" },
    verbose: { type: "boolean", short: "v" },
  },
  run,
};
