/**
 * The environment side of the benchmarks: an env manager from dist/ driving the package manager of
 * lib/target.mjs (the fake micromamba over the fixture channel, or the real tool and channel the real-thing
 * variables name), bench apps on disk, sessions in local mode, and the fake's invocation log (FAKE_PM_LOG) to
 * count package-manager processes (figures that need it ask for the fake: `fakeOnly`).
 */
import fs from "node:fs";
import path from "node:path";
import { WHEELS_DIR, loadDist } from "./common.mjs";
import { packageManagerFor } from "./target.mjs";

/** Options of the env layer the benchmarks use: `conda-forge` mapped to the target's channel. */
export function benchEnvOptions(cacheDir, { fakeOnly = false } = {}) {
  const pm = packageManagerFor({ fakeOnly });
  return {
    cacheDir,
    packageManager: pm.path,
    bootstrap: false,
    channelMap: { "conda-forge": pm.channelUrl },
    defaultChannels: ["conda-forge"],
    allowPipOptions: false,
    createTimeoutMs: 300_000,
  };
}

/**
 * The worker's environment as the env layer sees it. `invocationLog` sets FAKE_PM_LOG (the fake appends one
 * JSON line per process); `delayMs` sets FAKE_PM_DELAY_MS (per linked package) to model a slower tool.
 */
export function benchToolEnv(cacheDir, { invocationLog, delayMs } = {}) {
  return {
    PATH: process.env.PATH,
    HOME: cacheDir,
    PIP_NO_INDEX: "1",
    PIP_FIND_LINKS: WHEELS_DIR,
    ...(invocationLog ? { FAKE_PM_LOG: invocationLog } : {}),
    ...(delayMs ? { FAKE_PM_DELAY_MS: String(delayMs) } : {}),
  };
}

/**
 * Creates an env manager from dist/ over `cacheDir`. A figure read from the fake's invocation log
 * (`invocationLog`) or shaped by its knobs (`delayMs`) always uses the fake.
 */
export async function createBenchEnvManager(cacheDir, toolEnv = {}) {
  const { createEnvManager } = await loadDist();
  const fakeOnly = Boolean(toolEnv.invocationLog || toolEnv.delayMs || toolEnv.fakeOnly);
  return createEnvManager(benchEnvOptions(cacheDir, { fakeOnly }), { env: benchToolEnv(cacheDir, toolEnv) });
}

/** The EnvSpec the worker builds for `dependencies` (conda-forge → the target's channel, or the fixture one). */
export async function specFor(dependencies, { fakeOnly = false } = {}) {
  const { buildEnvSpec } = await loadDist();
  const channelMap = { "conda-forge": packageManagerFor({ fakeOnly }).channelUrl };
  return buildEnvSpec({ dependencies, channels: ["conda-forge"] }, { channelMap, defaultChannels: ["conda-forge"], allowPipOptions: false });
}

/** Reads FAKE_PM_LOG lines; a missing file means no process was started. */
export function readInvocations(file) {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line));
}

/** True for an invocation that creates an env (not a --version / info probe). */
export function isCreate(invocation) {
  return invocation.argv.includes("create");
}

/**
 * Writes an app folder (manifest.yaml + main.py) and returns its path. `firstStatement` apps print
 * `BENCH_T0 <time.time_ns()>` as the entry point's first statement.
 */
export function writeBenchApp(dir, { id, main, dependencies = ["python"], waitForService = false }) {
  fs.mkdirSync(dir, { recursive: true });
  const manifest = [
    "type: conda-python",
    `id: ${id}`,
    `name: ${id}`,
    "version: 0.1.0",
    "entry_point: main.py",
    "channels:",
    "  - conda-forge",
    "dependencies:",
    ...dependencies.map((d) => `  - ${JSON.stringify(d)}`),
    ...(waitForService === false ? ["startup_config:", "  wait_for_service: false"] : []),
  ];
  fs.writeFileSync(path.join(dir, "manifest.yaml"), `${manifest.join("\n")}\n`);
  fs.writeFileSync(path.join(dir, "main.py"), main);
  return dir;
}

/** An entry point whose first statement records the moment it runs. */
export const FIRST_STATEMENT_MAIN = "import time; _BENCH_T0 = time.time_ns()\nprint('BENCH_T0', _BENCH_T0, flush=True)\n";

/** Parses the BENCH_T0 line of a stdout log view; returns ms on the wall clock, or undefined. */
export function firstStatementMs(stdoutLines) {
  for (const line of stdoutLines) {
    const match = /^BENCH_T0 (\d+)/.exec(line);
    if (match) return Number(BigInt(match[1]) / 1000n) / 1000;
  }
  return undefined;
}

/** SessionDeps for a Session in local mode (no Hypha server), as `run` builds them. */
export async function localSessionDeps(env, workingRoot, extra = {}) {
  const { silentLogger } = await loadDist();
  const { DEFAULT_LOG_LIMITS } = await loadDist("session/logs.js");
  return {
    env,
    specOptions: { channelMap: env.options.channelMap, defaultChannels: env.options.defaultChannels, allowPipOptions: false },
    workingRoot,
    serviceMode: { kind: "local" },
    passEnv: {},
    logLimits: DEFAULT_LOG_LIMITS,
    stopGraceMs: 2_000,
    logger: silentLogger,
    ...extra,
  };
}

let counter = 0;

/** A start config for a session of `appId` (local: the server URL is never dialled). */
export function localStartConfig(appId, manifest, extra = {}) {
  counter += 1;
  const clientId = `bench-${process.pid}-${counter}`;
  return { id: `ws-bench/${clientId}`, app_id: appId, workspace: "ws-bench", client_id: clientId, server_url: "http://127.0.0.1:9", timeout: 60, manifest, ...extra };
}

/** Reads an app folder's manifest.yaml as an object. */
export async function readManifest(appDir) {
  const YAML = (await import("yaml")).default;
  return YAML.parse(fs.readFileSync(path.join(appDir, "manifest.yaml"), "utf8"));
}
