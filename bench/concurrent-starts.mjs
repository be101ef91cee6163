/**
 * 10 concurrent starts of one app (one spec) on a fresh cache, against one start on a fresh cache: the
 * number of env creates (from the fake's FAKE_PM_LOG; target: 1) and the wall time until every session is
 * running. Sessions are real (Session in local mode, the hello fixture, the real bridge runner).
 */
import path from "node:path";
import { APPS_DIR, QUICK, interleave, iterations, loadDist, log, makeTemp, ms, nowMs, ratio, runIfMain, summarize } from "./lib/common.mjs";
import { createBenchEnvManager, isCreate, localSessionDeps, localStartConfig, readInvocations, readManifest, specFor } from "./lib/env.mjs";

export const NAME = "concurrent-starts";
const CONCURRENCY = QUICK ? 3 : 10;

async function startMany(dist, count, manifest, files, createsSeen) {
  const cacheDir = makeTemp("conc-cache");
  const invocationLog = path.join(cacheDir, "fake-pm.jsonl");
  const env = await createBenchEnvManager(cacheDir, { invocationLog });
  await env.packageManager(); // detected once at worker start-up, before traffic
  const deps = await localSessionDeps(env, makeTemp("conc-work"));
  const sessions = Array.from({ length: count }, () => new dist.Session(deps, localStartConfig("hello", manifest)));
  const t = nowMs();
  await Promise.all(sessions.map((s) => s.start({ files })));
  const elapsed = nowMs() - t;
  const infos = await Promise.all(sessions.map((s) => s.whenEnded()));
  await Promise.all(sessions.map((s) => s.stop()));
  const failed = infos.filter((i) => i.status !== "completed");
  if (failed.length) throw new Error(`${failed.length} sessions did not complete: ${failed[0].error ?? failed[0].status}`);
  createsSeen.push(readInvocations(invocationLog).filter(isCreate).length);
  return elapsed;
}

/** The env layer alone: `count` concurrent ensureEnv calls of one spec on a fresh cache. */
async function ensureMany(count, spec, createsSeen) {
  const cacheDir = makeTemp("conc-env");
  const invocationLog = path.join(cacheDir, "fake-pm.jsonl");
  const env = await createBenchEnvManager(cacheDir, { invocationLog });
  await env.packageManager();
  const t = nowMs();
  await Promise.all(Array.from({ length: count }, () => env.ensureEnv(spec)));
  const elapsed = nowMs() - t;
  createsSeen.push(readInvocations(invocationLog).filter(isCreate).length);
  return elapsed;
}

export async function run() {
  const dist = await loadDist();
  const appDir = path.join(APPS_DIR, "hello");
  const manifest = await readManifest(appDir);
  const files = dist.createDirectoryFileSource(appDir);
  const creates = { one: [], ten: [] };
  const rounds = iterations(4, 1);
  log(`concurrent-starts: ${rounds} interleaved rounds of 1 start and ${CONCURRENCY} concurrent starts, fresh cache each`);
  const samples = await interleave(rounds, {
    "1 start": () => startMany(dist, 1, manifest, files, creates.one),
    [`${CONCURRENCY} concurrent starts`]: () => startMany(dist, CONCURRENCY, manifest, files, creates.ten),
  });
  const spec = await specFor(["python"], { fakeOnly: true });
  const envCreates = { one: [], ten: [] };
  const envSamples = await interleave(rounds, {
    "ensureEnv ×1": () => ensureMany(1, spec, envCreates.one),
    [`ensureEnv ×${CONCURRENCY}`]: () => ensureMany(CONCURRENCY, spec, envCreates.ten),
  });
  const stats = Object.fromEntries(Object.entries({ ...samples, ...envSamples }).map(([k, v]) => [k, summarize(v)]));
  const envRatio = ratio(stats[`ensureEnv ×${CONCURRENCY}`].median, stats["ensureEnv ×1"].median);
  const one = stats["1 start"].median;
  const ten = stats[`${CONCURRENCY} concurrent starts`].median;
  const maxCreates = Math.max(...creates.ten);
  const r = ratio(ten, one);
  return {
    target: `${CONCURRENCY} concurrent starts of one spec on a fresh cache → exactly 1 create; wall time reported against 1 start`,
    unit: "ms",
    concurrency: CONCURRENCY,
    rounds,
    stats,
    figures: {
      createsPerConcurrentRound: creates.ten,
      createsPerRoundWith1: creates.one,
      wallTimeRatioConcurrentToOne: r,
      oneStartMedianMs: one,
      concurrentStartsMedianMs: ten,
      upstreamCreatesDocumented: CONCURRENCY,
      ensureEnvOnlyCreatesPerConcurrentRound: envCreates.ten,
      ensureEnvOnlyRatioConcurrentToOne: envRatio,
    },
    targetMet: creates.ten.every((n) => n === 1) && envCreates.ten.every((n) => n === 1),
    summary: [
      `creates per round of ${CONCURRENCY} concurrent starts: ${creates.ten.join(", ")} (target 1) → ${creates.ten.every((n) => n === 1) ? "target met" : "target NOT met"}`,
      `wall time until all running: ${CONCURRENCY} starts ${ms(ten)} vs 1 start ${ms(one)}: ×${r}`,
      `env layer alone: ${CONCURRENCY} concurrent ensureEnv ${ms(stats[`ensureEnv ×${CONCURRENCY}`].median)} vs 1 ${ms(stats["ensureEnv ×1"].median)}: ×${envRatio}; creates ${envCreates.ten.join(", ")}`,
      `upstream Python worker (read in its source, not measured here): ${CONCURRENCY} concurrent starts of one spec → up to ${CONCURRENCY} creates (no lock; a miss creates a per-session env)`,
    ],
    notes: [
      "Each round: a fresh cache dir, a fresh env manager (tool detected before timing), sessions started together with Promise.all, timed until every start() resolved (runner handshake done).",
      "Upstream (amun-ai/hypha hypha/workers/conda.py, read at commit 01e42431): the cache index is checked without a lock and a miss creates a new env named after the session id, so concurrent starts of the same spec each create their own env; its compile also adds pip and {pip: [hypha-rpc]} to every env. Documented from the source, not measured.",
      QUICK ? "QUICK run: too few iterations to trust." : "",
    ].filter(Boolean),
  };
}

await runIfMain(import.meta.url, NAME, run);
