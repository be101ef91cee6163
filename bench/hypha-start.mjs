/**
 * The worker's share of a warm start through Hypha: `CondaWorker.start` of the `service` fixture (env
 * cached, app files over HTTP as from the app manager, the app's services registered on the server through
 * its own client) until `start` returns with the service registered, split by phase from the progress
 * events the worker reports (validating, fetching, resolving, cache, staging, launching, running) and the
 * last stretch from "running" (process spawned) to `start` returning (bridge handshake, the app's Hypha
 * connection, service registration). Against the Hypha test server, or the real one the real-thing
 * variables name. Compared with `ENV/bin/python -c pass`, interleaved.
 * Target (issue 12): the worker's part of a warm start ≤ 250 ms.
 */
import path from "node:path";
import { execa } from "execa";
import { APPS_DIR, interleave, iterations, loadDist, log, makeTemp, nowMs, runIfMain, summarize } from "./lib/common.mjs";
import { createBenchEnvManager, readManifest } from "./lib/env.mjs";
import { startAppFilesServer } from "./lib/app-files-server.mjs";
import { openBenchServer } from "./lib/server.mjs";

export const NAME = "hypha-start";
const PHASES = ["validating", "fetching", "resolving", "cache", "staging", "launching", "running"];

export async function run() {
  const dist = await loadDist();
  const server = await openBenchServer();
  const files = await startAppFilesServer();
  const appDir = path.join(APPS_DIR, "service");
  files.addApp("service", appDir);
  const manifest = await readManifest(appDir);
  const env = await createBenchEnvManager(makeTemp("hstart-cache"));
  const worker = new dist.CondaWorker({ env, workingDir: makeTemp("hstart-work"), stopGraceMs: 2_000 });
  let counter = 0;
  const splits = [];
  const startOnce = async (record) => {
    counter += 1;
    const clientId = `bench-start-${process.pid}-${counter}`;
    const marks = {};
    const t = nowMs();
    const id = await worker.start({
      id: `${server.workspace}/${clientId}`, app_id: "service", workspace: server.workspace, client_id: clientId, server_url: server.url,
      app_files_base_url: files.baseUrlFor("service"), token: server.tokenFor(clientId), timeout: 120, manifest,
      progress_callback: (event) => void (marks[event.phase ?? event.stage] ??= nowMs() - t),
    });
    const elapsed = nowMs() - t;
    await worker.stop(id);
    if (record) {
      const points = PHASES.filter((p) => marks[p] !== undefined).map((p) => [p, marks[p]]);
      const split = {};
      points.forEach(([phase, at], i) => (split[`${phase} → ${points[i + 1]?.[0] ?? "start returned"}`] = (points[i + 1]?.[1] ?? elapsed) - at));
      split["call → validating"] = points[0]?.[1] ?? 0;
      splits.push(split);
    }
    return elapsed;
  };
  try {
    await startOnce(false); // builds the env
    await startOnce(false); // warm-up
    const python = path.join((await env.listEnvs())[0].prefix, "bin", "python");
    const rounds = iterations(30, 2);
    log(`hypha-start: ${rounds} interleaved warm starts through ${server.kind === "real" ? server.url : "the Hypha test server"}`);
    const samples = await interleave(rounds, {
      "CondaWorker.start (warm, via Hypha)": () => startOnce(true),
      "python -c pass": async () => {
        const t = nowMs();
        await execa(python, ["-c", "pass"], { env: { PATH: process.env.PATH }, extendEnv: false, stdin: "ignore" });
        return nowMs() - t;
      },
    });
    const stats = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
    const phaseStats = Object.fromEntries(Object.keys(splits[0] ?? {}).map((k) => [k, summarize(splits.map((s) => s[k] ?? 0))]));
    const median = stats["CondaWorker.start (warm, via Hypha)"].median;
    const figures = { startMedianMs: median, pythonPassMedianMs: stats["python -c pass"].median, targetMs: 250, targetMet: median <= 250, phaseMediansMs: Object.fromEntries(Object.entries(phaseStats).map(([k, s]) => [k, s.median])) };
    return {
      target: "the worker's part of a warm start (start call → start returned, service registered) ≤ 250 ms",
      targetMet: figures.targetMet,
      stats: { ...stats, ...Object.fromEntries(Object.entries(phaseStats).map(([k, s]) => [`phase: ${k}`, s])) },
      figures,
      summary: [
        `warm start through ${server.kind === "real" ? "the real Hypha" : "the Hypha test server"}: median ${median.toFixed(1)} ms (target ≤ 250) → ${figures.targetMet ? "met" : "NOT met"}; python -c pass ${figures.pythonPassMedianMs.toFixed(1)} ms`,
        `per phase (medians): ${Object.entries(figures.phaseMediansMs).map(([k, v]) => `${k} ${v.toFixed(1)} ms`).join("; ")}`,
      ],
      notes: ["Each start is a new session of the same app (new client id); every start is a cache hit. The app files come over HTTP from bench/lib/app-files-server.mjs."],
    };
  } finally {
    await files.close();
    await server.stop();
  }
}

await runIfMain(import.meta.url, NAME, run);
