/**
 * Create from a lock vs create from the spec, side by side: ensureEnv on a fresh cache (cold package cache
 * each round) of the same app, once with the spec (the tool solves) and once with the lock made from it
 * (an @EXPLICIT list: no solve, pip with --no-deps). Rounds are interleaved. The lock itself is made once
 * and its time reported apart (it is paid at install, not at start).
 * Tool: the fake micromamba over the fixture channel, or the real tool when HYPHA_CONDA_TEST_PACKAGE_MANAGER
 * and HYPHA_CONDA_TEST_CHANNEL are set (a channel holding the fixture packages). The fake's solve is a few
 * ms over seven packages, so on it the ratio shows the worker's own cost of the locked path, not a gain;
 * real solvers spend seconds to minutes there.
 * Run: npm run build && node bench/lock-create.mjs (BENCH_QUICK=1 for a smoke run).
 */
import fs from "node:fs";
import { interleave, iterations, loadDist, log, makeTemp, ms, nowMs, ratio, runIfMain, summarize } from "./lib/common.mjs";
import { benchToolEnv } from "./lib/env.mjs";
import { TARGET, packageManagerFor } from "./lib/target.mjs";

export const NAME = "lock-create";

// The real tool and channel of the real-thing variables when given (lib/target.mjs), else the fake's.
const { path: TOOL, channelUrl: CHANNEL } = packageManagerFor();
const IS_REAL = TARGET.packageManager.kind === "real";

async function manager(cacheDir) {
  const { createEnvManager } = await loadDist();
  const options = { cacheDir, packageManager: TOOL, bootstrap: false, channelMap: {}, defaultChannels: [CHANNEL], allowPipOptions: false, createTimeoutMs: 600_000 };
  return createEnvManager(options, { env: benchToolEnv(cacheDir) });
}

async function createOnce(spec) {
  const cacheDir = makeTemp("lock-c");
  const env = await manager(cacheDir);
  await env.packageManager(); // detection: once per worker process, not part of a create
  const t = nowMs();
  const result = await env.ensureEnv(spec);
  const elapsed = nowMs() - t;
  if (result.status !== "created") throw new Error(`expected a create, got ${result.status}`);
  fs.rmSync(cacheDir, { recursive: true, force: true });
  return elapsed;
}

export async function run() {
  const { buildEnvSpec } = await loadDist();
  const spec = buildEnvSpec({ dependencies: ["python", "tinyapp", { pip: ["tinywheel"] }], channels: [CHANNEL] }, { channelMap: {}, defaultChannels: [CHANNEL], allowPipOptions: false });
  const lockCache = makeTemp("lock-l");
  const locker = await manager(lockCache);
  const pm = await locker.packageManager();
  const t = nowMs();
  const lock = await locker.lockSpec(spec);
  const lockMs = nowMs() - t;
  const locked = { ...spec, lock };
  const rounds = iterations(6, 1);
  log(`lock-create: ${rounds} interleaved rounds with ${pm.name} ${pm.version} (${IS_REAL ? "real tool" : "fake"}), ${lock.conda.length} conda + ${lock.pip.length} pip packages`);
  await createOnce(spec); // warm-up (file system caches, python probe of the fake)
  const samples = await interleave(rounds, { "from the spec": () => createOnce(spec), "from the lock": () => createOnce(locked) });
  const stats = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
  const fromSpec = stats["from the spec"].median;
  const fromLock = stats["from the lock"].median;
  const r = ratio(fromLock, fromSpec);
  return {
    target: "report create-from-lock against create-from-spec side by side (issue 13); no pass/fail target",
    unit: "ms",
    tool: { name: pm.name, version: pm.version, real: IS_REAL },
    packages: { conda: lock.conda.length, pip: lock.pip.length },
    rounds,
    stats,
    lockMs: Math.round(lockMs),
    figures: { fromSpecMedianMs: fromSpec, fromLockMedianMs: fromLock, ratioLockOverSpec: r, lockMs: Math.round(lockMs) },
    summary: [
      `${pm.name} ${pm.version}${IS_REAL ? "" : " (fake)"}: create from the lock ${ms(fromLock)} vs from the spec ${ms(fromSpec)} (medians of ${rounds}): ×${r}`,
      `making the lock (dry-run solve + pip pinned in a scratch env, at install): ${ms(lockMs)}`,
    ],
    notes: [
      IS_REAL ? "" : "The fake solves seven packages in milliseconds, so on it the two paths differ by the fake's solve and pip's resolution (the locked path runs pip with --no-deps) and are within the machine's noise; the gain is the solve a real tool no longer does at start.",
    ].filter(Boolean),
  };
}

await runIfMain(import.meta.url, NAME, run);
