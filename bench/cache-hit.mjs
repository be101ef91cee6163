/**
 * Cache hit: ensureEnv on an env that is already cached. Counts the package-manager processes a hit starts
 * (the fake appends one line per process to FAKE_PM_LOG; target: 0, also for a freshly created env manager
 * that has not detected its tool yet) and measures hit latency against `ENV/bin/python -c pass`.
 */
import path from "node:path";
import { execa } from "execa";
import { QUICK, interleave, iterations, log, makeTemp, ms, nowMs, ratio, runIfMain, summarize } from "./lib/common.mjs";
import { createBenchEnvManager, readInvocations, specFor } from "./lib/env.mjs";

export const NAME = "cache-hit";

export async function run() {
  const cacheDir = makeTemp("hit-cache");
  const invocationLog = path.join(makeTemp("hit-log"), "fake-pm.jsonl");
  const spec = await specFor(["python", "tinylib"], { fakeOnly: true });
  const builder = await createBenchEnvManager(cacheDir, { invocationLog });
  const built = await builder.ensureEnv(spec);
  if (built.status !== "created") throw new Error(`expected a create on a fresh cache, got ${built.status}`);
  const afterCreate = readInvocations(invocationLog).length;

  // A new manager, as in a freshly started worker: a hit must not even detect the package manager.
  const env = await createBenchEnvManager(cacheDir, { invocationLog });
  const childEnv = { ...built.activation, HOME: cacheDir };
  const variants = {
    "ensureEnv hit": async () => {
      const t = nowMs();
      const result = await env.ensureEnv(spec);
      const elapsed = nowMs() - t;
      if (result.status !== "cached") throw new Error(`expected a hit, got ${result.status}`);
      return elapsed;
    },
    "python -c pass": async () => {
      const t = nowMs();
      await execa(built.pythonPath, ["-c", "pass"], { env: childEnv, extendEnv: false, stdin: "ignore" });
      return nowMs() - t;
    },
  };
  const rounds = iterations(100, 3);
  log(`cache-hit: ${rounds} interleaved rounds`);
  const samples = await interleave(rounds, variants);
  const hits = rounds;
  const processesOnHits = readInvocations(invocationLog).length - afterCreate;
  const stats = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
  const hit = stats["ensureEnv hit"];
  const base = stats["python -c pass"];
  const r = ratio(hit.median, base.median);
  return {
    target: "0 package-manager processes on a hit; hit latency reported against `ENV/bin/python -c pass`",
    unit: "ms",
    rounds,
    stats,
    figures: {
      hits,
      packageManagerProcessesOnHits: processesOnHits,
      packageManagerProcessesForTheCreate: afterCreate,
      hitMedianMs: hit.median,
      hitP90Ms: hit.p90,
      pythonPassMedianMs: base.median,
      ratioHitToPythonPass: r,
    },
    targetMet: processesOnHits === 0,
    summary: [
      `${processesOnHits} package-manager processes over ${hits} hits (target 0) → ${processesOnHits === 0 ? "target met" : "target NOT met"}; the create itself started ${afterCreate}`,
      `hit median ${ms(hit.median)} (p90 ${ms(hit.p90)}) vs python -c pass ${ms(base.median)}: ×${r}`,
    ],
    notes: [
      "Processes counted from the fake micromamba's FAKE_PM_LOG (one line per process, probes included).",
      "A hit reads and validates the marker, checks bin/python is executable and touches the last-used file: no process.",
      QUICK ? "QUICK run: too few iterations to trust." : "",
    ].filter(Boolean),
  };
}

await runIfMain(import.meta.url, NAME, run);
