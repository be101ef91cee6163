/**
 * The start phases before launch: validating the manifest, fetching the app's files, resolving and
 * ensuring the env (hit or create), taking its lease, and staging the files into a fresh working dir.
 * Everything acquired is recorded in `held` at once, so a failure or a concurrent stop can release it.
 */
import type { EnvResult } from "../env/types.js";
import { ENVIRONMENT_FILE_NAMES } from "../env/build/environment-file.js";
import { LOCK_FILE_NAME } from "../env/lock/lock-file.js";
import { KERNEL_APP_TYPE } from "../env/spec/manifest.js";
import { hashEnvSpec } from "../env/spec/hash.js";
import { SessionError } from "../errors.js";
import type { ProgressReporter } from "../progress.js";
import { createHttpFileSource } from "./app-files.js";
import { createMemoSource } from "./memo-source.js";
import type { SessionResources } from "./resources.js";
import { stageAppFiles } from "./staging.js";
import type { AppFileSource, SessionDeps, SessionRuntime, StartConfig } from "./types.js";
import { createWorkingDir } from "./working-dir.js";

export interface PrepareInput {
  config: StartConfig;
  deps: SessionDeps;
  runtime: SessionRuntime;
  progress: ProgressReporter;
  /** Overrides the HTTP source (local runs). */
  files?: AppFileSource;
  signal: AbortSignal;
  held: SessionResources;
  /** Throws when the session was stopped meanwhile. */
  checkStopped: () => void;
  /** Reports facts as soon as they are known (for the session's info). */
  onEntryPoint: (entryPoint: string) => void;
  onEnv: (env: EnvResult) => void;
}

export interface Prepared {
  entryPoint: string;
  env: EnvResult;
  workDir: string;
  stagedFiles: number;
  /** The entry point runs as upstream's kernel cell (type conda-jupyter-kernel). */
  kernel: boolean;
}

export async function prepareApp(input: PrepareInput): Promise<Prepared> {
  const { config, deps, progress, held, checkStopped } = input;
  progress.report("validating", "info", `Validating the manifest of ${config.app_id}.`);
  const manifest = input.runtime.normalizeManifest(config.manifest);
  const entryPoint = config.entry_point ?? manifest.entryPoint;
  input.onEntryPoint(entryPoint);

  progress.report("fetching", "info", `Fetching app files (${entryPoint}).`);
  const source = createMemoSource(input.files ?? httpSource(config));
  // Every file resolving may read is requested at once: one round trip instead of three in a row.
  source.prefetch([entryPoint, LOCK_FILE_NAME, ...(manifest.envSource === "environment-file" ? ENVIRONMENT_FILE_NAMES : [])]);
  if ((await source.readFile(entryPoint)) === undefined) {
    throw new SessionError("E_APP_FILES", `The entry point ${JSON.stringify(entryPoint)} is not among the app's files. Upload it or fix entry_point in the manifest.`);
  }
  checkStopped();

  progress.report("resolving", "info", "Resolving the environment spec.");
  const readText = async (rel: string) => (await source.readFile(rel))?.toString("utf8");
  const spec = await input.runtime.resolveEnvSpec(manifest, readText, deps.specOptions);
  checkStopped();
  // Lease before ensuring: a gc between the ensure and a later lease could evict the env.
  held.lease = await deps.env.acquireLease(hashEnvSpec(spec), config.id);
  const env = await deps.env.ensureEnv(spec, { onProgress: progress.sink, signal: input.signal });
  if (spec.lock && env.hash !== held.lease.hash) {
    // A lock fallback (--lock-mismatch spec) built the spec's env instead: lease what is actually used.
    const previous = held.lease;
    held.lease = await deps.env.acquireLease(env.hash, config.id);
    await previous.release();
  }
  input.onEnv(env);
  const what = env.status === "cached" ? "cache hit" : "created";
  progress.report("cache", "success", `Environment ${what}: ${env.hash.slice(0, 16)} (${env.seconds.toFixed(2)} s).`, { hash: env.hash, prefix: env.prefix, status: env.status });
  checkStopped();

  progress.report("staging", "info", "Staging app files into the working directory.");
  const workDir = await createWorkingDir(deps.workingRoot, config.workspace, config.id);
  held.workDir = workDir;
  checkStopped();
  const staged = await stageAppFiles({ source, workDir, entryPoint, filesToStage: manifest.filesToStage });
  checkStopped();
  return { entryPoint, env, workDir, stagedFiles: staged.length, kernel: manifest.type === KERNEL_APP_TYPE };
}

function httpSource(config: StartConfig): AppFileSource {
  if (!config.app_files_base_url) {
    throw new SessionError("E_APP_FILES", "The start config has no app_files_base_url, so the app's files cannot be fetched. Start the app through the Hypha app manager, or pass a file source for a local run.");
  }
  return createHttpFileSource({ baseUrl: config.app_files_base_url, ...(config.token ? { token: config.token } : {}) });
}
