/**
 * Scale: a cache of 1,000 envs made of synthetic markers written directly in the layout src/env uses
 * (<cache>/envs/<hint>-<16 hex>/conda-meta/hypha-conda-worker.json + bin/python + the last-used file, see
 * src/env/cache-layout.ts and marker.ts). Measures an ensureEnv hit (against the same hit in a cache of 1
 * env), `cache list` and `cache gc` both in-process (library) and as the CLI (`node dist/cli.js`, against
 * `node dist/cli.js --version` for Node start-up), and one gc that evicts 100 envs.
 */
import fs from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { DIST, FAKE_MICROMAMBA, QUICK, interleave, iterations, loadDist, log, makeTemp, ms, nowMs, ratio, runIfMain, summarize } from "./lib/common.mjs";
import { benchToolEnv, createBenchEnvManager, specFor } from "./lib/env.mjs";

export const NAME = "scale";

/** Writes `count` synthetic envs; returns their specs. lastUsed spreads over the past hours (LRU order). */
async function writeSyntheticCache(cacheDir, count) {
  const { hashEnvSpec, envDirName, cacheLayout } = await loadDist();
  const layout = cacheLayout(cacheDir);
  const python = (await execa("python3", ["-c", "import sys; print(sys.executable)"])).stdout.trim();
  const specs = [];
  const now = Date.now();
  for (let i = 0; i < count; i += 1) {
    const spec = await specFor(["python", `synthetic-${i}`], { fakeOnly: true });
    const hash = hashEnvSpec(spec);
    const prefix = path.join(layout.envsDir, envDirName(spec, hash));
    fs.mkdirSync(path.join(prefix, "conda-meta"), { recursive: true });
    fs.mkdirSync(path.join(prefix, "bin"), { recursive: true });
    fs.symlinkSync(python, path.join(prefix, "bin", "python"));
    const marker = {
      format: 1, hash, spec, prefix, createdAt: new Date(now - 86_400_000).toISOString(),
      packageManager: { name: "micromamba", version: "1.5.12", path: FAKE_MICROMAMBA },
      activation: { PATH: `${prefix}/bin:/usr/bin:/bin`, CONDA_PREFIX: prefix, CONDA_DEFAULT_ENV: prefix },
      sizeBytes: 50_000_000 + i,
    };
    fs.writeFileSync(path.join(prefix, "conda-meta", "hypha-conda-worker.json"), JSON.stringify(marker));
    const lastUsed = path.join(prefix, "conda-meta", "hypha-conda-worker.last-used");
    fs.writeFileSync(lastUsed, "");
    const when = new Date(now - (count - i) * 60_000);
    fs.utimesSync(lastUsed, when, when);
    specs.push(spec);
  }
  return specs;
}

function cli(cacheDir, args) {
  return async () => {
    const t = nowMs();
    const result = await execa(process.execPath, [path.join(DIST, "cli.js"), ...args, ...(args[0] === "--version" ? [] : ["--cache-dir", cacheDir])], { env: { ...benchToolEnv(cacheDir), HYPHA_CONDA_PACKAGE_MANAGER: FAKE_MICROMAMBA }, extendEnv: false, reject: false, stdin: "ignore" });
    const elapsed = nowMs() - t;
    if (result.exitCode !== 0) throw new Error(`hypha-conda-worker ${args.join(" ")} failed (${result.exitCode}): ${result.stderr}`);
    return elapsed;
  };
}

export async function run() {
  const count = iterations(1000, 50);
  const big = makeTemp("scale-big");
  const small = makeTemp("scale-small");
  const t = nowMs();
  const specs = await writeSyntheticCache(big, count);
  const smallSpecs = await writeSyntheticCache(small, 1);
  const writeS = (nowMs() - t) / 1000;
  log(`scale: wrote ${count} synthetic envs in ${writeS.toFixed(1)} s`);
  const bigEnv = await createBenchEnvManager(big, { fakeOnly: true });
  const smallEnv = await createBenchEnvManager(small, { fakeOnly: true });

  const listed = await bigEnv.listEnvs();
  if (listed.length !== count) throw new Error(`cache list saw ${listed.length} envs, expected ${count}: the synthetic markers do not match src/env's layout`);

  const hitRounds = iterations(200, 3);
  const lookup = await interleave(hitRounds, {
    [`hit in a cache of ${count}`]: async (i) => {
      const spec = specs[(i * 7919) % count];
      const t0 = nowMs();
      const r = await bigEnv.ensureEnv(spec);
      if (r.status !== "cached") throw new Error(`synthetic env not a hit: ${r.status}`);
      return nowMs() - t0;
    },
    "hit in a cache of 1": async () => {
      const t0 = nowMs();
      await smallEnv.ensureEnv(smallSpecs[0]);
      return nowMs() - t0;
    },
  });
  const libRounds = iterations(10, 1);
  const library = await interleave(libRounds, {
    "listEnvs()": async () => {
      const t0 = nowMs();
      await bigEnv.listEnvs();
      return nowMs() - t0;
    },
    "gc() nothing to evict": async () => {
      const t0 = nowMs();
      const removed = await bigEnv.gc({ maxEnvs: count });
      if (removed.length !== 0) throw new Error(`gc removed ${removed.length} envs, expected none`);
      return nowMs() - t0;
    },
  });
  const cliRounds = iterations(5, 1);
  const cliSamples = await interleave(cliRounds, {
    "cli --version": cli(big, ["--version"]),
    "cli cache list --json": cli(big, ["cache", "list", "--json"]),
    "cli cache gc (nothing to evict)": cli(big, ["cache", "gc", "--max-envs", String(count), "--json"]),
  });
  const evictTarget = count - Math.round(count / 10);
  const t1 = nowMs();
  const removed = await bigEnv.gc({ maxEnvs: evictTarget });
  const evictMs = nowMs() - t1;
  if (removed.length !== count - evictTarget) throw new Error(`gc evicted ${removed.length}, expected ${count - evictTarget}`);

  const stats = Object.fromEntries(Object.entries({ ...lookup, ...library, ...cliSamples }).map(([k, v]) => [k, summarize(v)]));
  const hitBig = stats[`hit in a cache of ${count}`].median;
  const hitSmall = stats["hit in a cache of 1"].median;
  const nodeStart = stats["cli --version"].median;
  return {
    target: "reported (no numeric target): lookup independent of cache size; list and gc of 1,000 envs",
    unit: "ms",
    envs: count,
    stats,
    figures: {
      hitMedianMs: hitBig,
      hitRatioBigToOne: ratio(hitBig, hitSmall),
      listEnvsMedianMs: stats["listEnvs()"].median,
      gcScanMedianMs: stats["gc() nothing to evict"].median,
      cliListMedianMs: stats["cli cache list --json"].median,
      cliGcMedianMs: stats["cli cache gc (nothing to evict)"].median,
      cliVersionMedianMs: nodeStart,
      gcEvict10PctMs: Math.round(evictMs),
      evicted: removed.length,
    },
    targetMet: null,
    summary: [
      `ensureEnv hit with ${count} envs ${ms(hitBig)} vs with 1 env ${ms(hitSmall)}: ×${ratio(hitBig, hitSmall)}`,
      `listEnvs() ${ms(stats["listEnvs()"].median)}, gc scan ${ms(stats["gc() nothing to evict"].median)} (in-process, ${count} envs)`,
      `CLI: cache list --json ${ms(stats["cli cache list --json"].median)}, cache gc ${ms(stats["cli cache gc (nothing to evict)"].median)} vs --version ${ms(nodeStart)} (Node start-up)`,
      `gc evicting ${removed.length} of ${count} envs (LRU): ${ms(evictMs)}`,
    ],
    notes: [
      "Synthetic envs: a valid marker, bin/python (a symlink to python3), the last-used file with LRU-ordered mtimes; a marker's sizeBytes stands in for the size walk.",
      QUICK ? "QUICK run: too few envs and iterations to trust." : "",
    ].filter(Boolean),
  };
}

await runIfMain(import.meta.url, NAME, run);
