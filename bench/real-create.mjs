/**
 * Real-tool create times: `ensureEnv` driving the package manager named by HYPHA_CONDA_TEST_PACKAGE_MANAGER
 * over HYPHA_CONDA_TEST_CHANNEL (a channel with the fixture packages), for the fixture specs, with a cold
 * package cache (a fresh cache dir) side by side with a warm one (the same cache, its env removed). Reports the
 * tool's share (from the `creating` to the `verifying` progress event) and the whole ensure. Not part of
 * run-all: it needs a real tool, and its figures depend on that tool, not on the worker.
 * Usage: HYPHA_CONDA_TEST_PACKAGE_MANAGER=/path/conda HYPHA_CONDA_TEST_CHANNEL=file:///ch node bench/real-create.mjs
 */
import fs from "node:fs";
import path from "node:path";
import { QUICK, WHEELS_DIR, interleave, iterations, loadDist, log, makeTemp, nowMs, ratio, runIfMain, summarize } from "./lib/common.mjs";

export const NAME = "real-create";

const SPECS = [["python"], ["python", "tinylib"], ["python", "tinyapp"], ["python", "tinytool", "tinyactivate"]];

function realTool() {
  const tool = process.env.HYPHA_CONDA_TEST_PACKAGE_MANAGER;
  const channel = process.env.HYPHA_CONDA_TEST_CHANNEL;
  if (!tool || !channel) throw new Error("set HYPHA_CONDA_TEST_PACKAGE_MANAGER (a real conda, mamba or micromamba) and HYPHA_CONDA_TEST_CHANNEL (a channel with the fixture packages)");
  return { tool, channel };
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

export async function run() {
  const target = realTool();
  const { buildEnvSpec } = await loadDist();
  const rounds = iterations(3, 1);
  const perSpec = [];
  for (const dependencies of SPECS) {
    const spec = buildEnvSpec({ dependencies, channels: [target.channel] }, { channelMap: {}, defaultChannels: [target.channel], allowPipOptions: false });
    const warmDir = makeTemp("real-warm");
    const warmEnv = await manager(warmDir, target);
    await warmEnv.packageManager(); // detection once per process, as at worker start-up
    fs.rmSync((await timedCreate(warmEnv, spec)).prefix, { recursive: true, force: true }); // fills the package cache
    const tools = { cold: [], warm: [] };
    const samples = await interleave(rounds, {
      cold: async () => {
        const env = await manager(makeTemp("real-cold"), target);
        await env.packageManager();
        const r = await timedCreate(env, spec);
        tools.cold.push(r.tool);
        return r.total;
      },
      warm: async () => {
        const r = await timedCreate(warmEnv, spec);
        fs.rmSync(r.prefix, { recursive: true, force: true });
        tools.warm.push(r.tool);
        return r.total;
      },
    });
    const stats = { cold: summarize(samples.cold), warm: summarize(samples.warm), coldTool: summarize(tools.cold), warmTool: summarize(tools.warm) };
    perSpec.push({ dependencies, stats, warmOverCold: ratio(stats.warm.median, stats.cold.median) });
    log(`${dependencies.join(" ")}: cold ${(stats.cold.median / 1000).toFixed(2)} s, warm ${(stats.warm.median / 1000).toFixed(2)} s`);
  }
  const pm = await (await manager(makeTemp("real-detect"), target)).packageManager();
  const summary = perSpec.map(
    (s) => `${s.dependencies.join(" ")}: cold cache ${(s.stats.cold.median / 1000).toFixed(2)} s (tool ${(s.stats.coldTool.median / 1000).toFixed(2)} s) vs warm ${(s.stats.warm.median / 1000).toFixed(2)} s (tool ${(s.stats.warmTool.median / 1000).toFixed(2)} s): warm/cold ${s.warmOverCold}`,
  );
  return { target: "reported", tool: `${pm.name} ${pm.version}`, rounds, quick: QUICK, figures: perSpec, summary, targetMet: null };
}

await runIfMain(import.meta.url, NAME, run);
