/**
 * Real-tool create times: `ensureEnv` driving the package manager named by HYPHA_CONDA_TEST_PACKAGE_MANAGER
 * over HYPHA_CONDA_TEST_CHANNEL (a channel with the fixture packages), for the fixture specs, with a cold
 * package cache (a fresh cache dir) side by side with a warm one (the same cache, its env removed). Reports the
 * tool's share (from the `creating` to the `verifying` progress event) and the whole ensure. Not part of
 * run-all: it needs a real tool, and its figures depend on that tool, not on the worker.
 * With HYPHA_CONDA_BENCH_COMPARE_PM (more tools, ":"-separated) every tool's creates are interleaved in each
 * round, so conda and micromamba are timed side by side on the same specs and channel.
 * Usage: HYPHA_CONDA_TEST_PACKAGE_MANAGER=/path/conda HYPHA_CONDA_TEST_CHANNEL=file:///ch \
 *   [HYPHA_CONDA_BENCH_COMPARE_PM=/path/micromamba] node bench/real-create.mjs
 */
import fs from "node:fs";
import path from "node:path";
import { QUICK, WHEELS_DIR, interleave, iterations, loadDist, log, makeTemp, nowMs, ratio, runIfMain, summarize } from "./lib/common.mjs";

export const NAME = "real-create";

const SPECS = [["python"], ["python", "tinylib"], ["python", "tinyapp"], ["python", "tinytool", "tinyactivate"]];

/** The tools to time: HYPHA_CONDA_TEST_PACKAGE_MANAGER first, then each path in HYPHA_CONDA_BENCH_COMPARE_PM (":"-separated). */
function realTools() {
  const tool = process.env.HYPHA_CONDA_TEST_PACKAGE_MANAGER;
  const channel = process.env.HYPHA_CONDA_TEST_CHANNEL;
  if (!tool || !channel) throw new Error("set HYPHA_CONDA_TEST_PACKAGE_MANAGER (a real conda, mamba or micromamba) and HYPHA_CONDA_TEST_CHANNEL (a channel with the fixture packages); HYPHA_CONDA_BENCH_COMPARE_PM may name more tools (\":\"-separated) to time side by side");
  const others = (process.env.HYPHA_CONDA_BENCH_COMPARE_PM ?? "").split(":").filter(Boolean);
  return [tool, ...others].map((t) => ({ tool: t, channel }));
}

async function manager(cacheDir, { tool, channel }) {
  const { createEnvManager } = await loadDist();
  const home = path.join(cacheDir, "home");
  fs.mkdirSync(home, { recursive: true });
  const options = { cacheDir, packageManager: tool, bootstrap: false, channelMap: {}, defaultChannels: [channel], allowPipOptions: false, createTimeoutMs: 600_000 };
  return createEnvManager(options, { env: { PATH: process.env.PATH, HOME: home, PIP_NO_INDEX: "1", PIP_FIND_LINKS: WHEELS_DIR } });
}

/** One ensure that must create; returns {total, tool} in ms. */
async function timedCreate(env, spec) {
  const phases = {};
  const t = nowMs();
  const result = await env.ensureEnv(spec, { onProgress: (e) => void (phases[e.phase] ??= nowMs() - t) });
  const total = nowMs() - t;
  if (result.status !== "created") throw new Error(`expected a create, got ${result.status}`);
  return { total, tool: phases.verifying - phases.creating, prefix: result.prefix };
}

const seconds = (msValue) => `${(msValue / 1000).toFixed(2)} s`;

/** Per tool: its label (name and version, detected once as at worker start-up) and a warm-cache env manager. */
async function prepareTools(targets) {
  const prepared = [];
  for (const target of targets) {
    const warmEnv = await manager(makeTemp("real-warm"), target);
    const pm = await warmEnv.packageManager();
    prepared.push({ target, warmEnv, label: `${pm.name} ${pm.version}` });
  }
  return prepared;
}

export async function run() {
  const targets = realTools();
  const { buildEnvSpec } = await loadDist();
  const rounds = iterations(3, 1);
  const tools = await prepareTools(targets);
  const perSpec = [];
  for (const dependencies of SPECS) {
    const channel = targets[0].channel;
    const spec = buildEnvSpec({ dependencies, channels: [channel] }, { channelMap: {}, defaultChannels: [channel], allowPipOptions: false });
    const toolShare = {};
    const variants = {};
    for (const { target, warmEnv, label } of tools) {
      fs.rmSync((await timedCreate(warmEnv, spec)).prefix, { recursive: true, force: true }); // fills the package cache
      for (const kind of ["cold", "warm"]) toolShare[`${label} ${kind}`] = [];
      variants[`${label} cold`] = async () => {
        const env = await manager(makeTemp("real-cold"), target);
        await env.packageManager();
        const r = await timedCreate(env, spec);
        toolShare[`${label} cold`].push(r.tool);
        return r.total;
      };
      variants[`${label} warm`] = async () => {
        const r = await timedCreate(warmEnv, spec);
        fs.rmSync(r.prefix, { recursive: true, force: true });
        toolShare[`${label} warm`].push(r.tool);
        return r.total;
      };
    }
    const samples = await interleave(rounds, variants); // every tool's creates alternate within each round
    const stats = Object.fromEntries(Object.keys(samples).map((k) => [k, { total: summarize(samples[k]), tool: summarize(toolShare[k]) }]));
    perSpec.push({ dependencies, stats });
    log(`${dependencies.join(" ")}: ${Object.entries(stats).map(([k, v]) => `${k} ${seconds(v.total.median)}`).join(", ")}`);
  }
  const first = tools[0].label;
  const summary = perSpec.map((s) => {
    const parts = tools.map(({ label }) => {
      const cold = s.stats[`${label} cold`].total.median;
      const warm = s.stats[`${label} warm`].total.median;
      const versus = label === first ? "" : ` (×${ratio(cold, s.stats[`${first} cold`].total.median)} cold, ×${ratio(warm, s.stats[`${first} warm`].total.median)} warm of ${first})`;
      return `${label}: cold ${seconds(cold)}, warm ${seconds(warm)}${versus}`;
    });
    return `${s.dependencies.join(" ")}: ${parts.join("; ")}`;
  });
  return { target: "reported", tool: tools.map((t) => t.label).join(" vs "), rounds, quick: QUICK, figures: perSpec, summary, targetMet: null };
}

await runIfMain(import.meta.url, NAME, run);
