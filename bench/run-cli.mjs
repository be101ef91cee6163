/**
 * The CLI where authors wait: a warm `hypha-conda-worker run fixtures/apps/hello` (env cached) against
 * running the same main.py with the env's python, and `--help` against `node -e 0`, interleaved each round.
 * Every variant is a whole process, spawned and waited for, as a user's shell does.
 * Targets (issue 12): warm run ≤ python + 200 ms; `--help` ≤ 150 ms.
 */
import path from "node:path";
import { execa } from "execa";
import { APPS_DIR, DIST, interleave, iterations, log, makeTemp, nowMs, ratio, runIfMain, summarize } from "./lib/common.mjs";
import { benchEnvOptions, benchToolEnv } from "./lib/env.mjs";

export const NAME = "run-cli";
const CLI = path.join(DIST, "cli.js");
const HELLO = path.join(APPS_DIR, "hello");

async function timed(file, args, options) {
  const t = nowMs();
  const result = await execa(file, args, { reject: false, stdin: "ignore", ...options });
  if (result.exitCode !== 0) throw new Error(`${file} ${args.join(" ")} exited ${result.exitCode}: ${result.stderr}`);
  return nowMs() - t;
}

export async function run() {
  const cacheDir = makeTemp("run-cache");
  const options = benchEnvOptions(cacheDir);
  const toolEnv = { ...benchToolEnv(cacheDir), HYPHA_CONDA_CACHE_DIR: cacheDir, HYPHA_CONDA_PACKAGE_MANAGER: options.packageManager, HYPHA_CONDA_CHANNEL_MAP: Object.entries(options.channelMap).map(([k, v]) => `${k}=${v}`).join(","), HYPHA_CONDA_NO_BOOTSTRAP: "1" };
  const cli = { env: toolEnv, extendEnv: false };
  log("run-cli: building the env of fixtures/apps/hello once");
  const first = await execa(process.execPath, [CLI, "run", HELLO], { ...cli, reject: false, stdin: "ignore" });
  if (first.exitCode !== 0) throw new Error(`the first run of hello failed (exit ${first.exitCode}): ${first.stderr}`);
  const python = /python \S+ at (\S+)/.exec(first.stdout)?.[1];
  if (!python) throw new Error(`hello did not print its interpreter: ${first.stdout}`);
  const pyEnv = { env: { PATH: process.env.PATH, HOME: cacheDir }, extendEnv: false };

  const rounds = iterations(30, 2);
  log(`run-cli: ${rounds} interleaved rounds`);
  const samples = await interleave(rounds, {
    "python main.py": () => timed(python, [path.join(HELLO, "main.py")], pyEnv),
    "run hello (warm)": () => timed(process.execPath, [CLI, "run", HELLO], cli),
    "node -e 0": () => timed(process.execPath, ["-e", "0"], pyEnv),
    "--help": () => timed(process.execPath, [CLI, "--help"], cli),
    "run --help": () => timed(process.execPath, [CLI, "run", "--help"], cli),
  });
  const stats = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
  const py = stats["python main.py"].median;
  const warm = stats["run hello (warm)"].median;
  const help = stats["--help"].median;
  const overheadMs = Math.round((warm - py) * 10) / 10;
  const figures = {
    runMedianMs: warm,
    pythonMedianMs: py,
    runOverheadMs: overheadMs,
    runRatioToPython: ratio(warm, py),
    runTargetMet: overheadMs <= 200,
    helpMedianMs: help,
    nodeMedianMs: stats["node -e 0"].median,
    helpTargetMet: help <= 150,
    runHelpMedianMs: stats["run --help"].median,
  };
  return {
    target: "warm `run hello` ≤ python main.py + 200 ms; `--help` ≤ 150 ms",
    targetMet: figures.runTargetMet && figures.helpTargetMet,
    stats,
    figures,
    summary: [
      `warm run hello median ${warm.toFixed(1)} ms vs python main.py ${py.toFixed(1)} ms: +${overheadMs} ms (target ≤ +200) → ${figures.runTargetMet ? "met" : "NOT met"}`,
      `--help median ${help.toFixed(1)} ms (node -e 0: ${figures.nodeMedianMs.toFixed(1)} ms; target ≤ 150) → ${figures.helpTargetMet ? "met" : "NOT met"}`,
    ],
    notes: [
      "Whole processes, spawned and awaited as a shell does; the env is cached (the first run built it and is not counted).",
      `Package manager: ${options.packageManager} (a hit runs no package-manager process).`,
    ],
  };
}

await runIfMain(import.meta.url, NAME, run);
