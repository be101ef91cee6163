/**
 * Memory of the worker process (RSS after a forced GC, from inside the process, children not counted): idle
 * (env cached, no session), with 50 idle sessions (per-session cost), and during and after a log flood
 * (the flood fixture writing FLOOD_LINES lines; peak RSS sampled every 10 ms). The worker runs in its own
 * Node process (bench/lib/memory-worker.mjs) so nothing of the benchmark itself is counted.
 */
import { fork } from "node:child_process";
import path from "node:path";
import { REPO, QUICK, iterations, log, runIfMain } from "./lib/common.mjs";

export const NAME = "memory";
const MB = 1024 * 1024;
/** "Bounded": after a flood of any size, the live heap holds at most about the log limit (4 MiB) plus this slack. */
const RETAINED_BOUND_BYTES = 16 * MB;
const mb = (bytes) => Math.round((bytes / MB) * 10) / 10;

function startWorker() {
  const child = fork(path.join(REPO, "bench", "lib", "memory-worker.mjs"), [], { execArgv: ["--expose-gc"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const pending = [];
  child.on("message", (m) => pending.shift()?.(m));
  const next = () => new Promise((resolve) => pending.push(resolve));
  const ask = async (message) => {
    const answer = next();
    child.send(message);
    const m = await answer;
    if (!m.ok) throw new Error(`memory worker: ${m.error}`);
    return m.result;
  };
  return { child, ready: next(), ask };
}

export async function run() {
  const sessions = iterations(50, 3);
  const floodLines = iterations(1_000_000, 20_000);
  const w = startWorker();
  try {
    const fresh = (await w.ready).result;
    // Warm-up: build the envs and run one session of each, so "idle" is a worker that has served before.
    await w.ask({ cmd: "start", app: "idle", count: 1, parallel: 1 });
    await w.ask({ cmd: "stopAll" });
    const idle = await w.ask({ cmd: "rss" });
    log(`memory: starting ${sessions} idle sessions`);
    const loaded = await w.ask({ cmd: "start", app: "idle", count: sessions, parallel: 5 });
    if (loaded.running !== sessions) throw new Error(`expected ${sessions} running sessions, saw ${loaded.running}`);
    const afterStop = await w.ask({ cmd: "stopAll" });
    const smallLines = floodLines / 4;
    log(`memory: flooding ${smallLines} then ${floodLines} lines`);
    const small = await w.ask({ cmd: "flood", lines: smallLines });
    await w.ask({ cmd: "stopAll" });
    const flood = await w.ask({ cmd: "flood", lines: floodLines });
    const afterFlood = await w.ask({ cmd: "stopAll" });
    const perSession = (loaded.rss - idle.rss) / sessions;
    const floodBytes = floodLines * 92;
    return {
      target: "idle RSS and per-session cost reported; after a log flood of any size the live heap (after GC, session still held) stays within 16 MB of idle (bounded); peak RSS reported with its trend",
      unit: "MB",
      sessions,
      floodLines,
      figures: {
        freshRssMB: mb(fresh.rss),
        idleRssMB: mb(idle.rss),
        idleHeapUsedMB: mb(idle.heapUsed),
        with50SessionsRssMB: mb(loaded.rss),
        perSessionRssKB: Math.round(perSession / 1024),
        perSessionHeapKB: Math.round((loaded.heapUsed - idle.heapUsed) / sessions / 1024),
        afterStopRssMB: mb(afterStop.rss),
        floodOutputMB: mb(floodBytes),
        floodPeakRssMB: mb(flood.peakRss),
        floodPeakOverIdleMB: mb(flood.peakRss - idle.rss),
        afterFloodRssMB: mb(flood.rss),
        afterFloodHeapUsedMB: mb(flood.heapUsed),
        afterFloodHeapOverIdleMB: mb(flood.heapUsed - idle.heapUsed),
        afterFloodStoppedRssMB: mb(afterFlood.rss),
        floodKeptStdoutLines: flood.keptLines,
        smallFloodLines: smallLines,
        smallFloodPeakOverIdleMB: mb(small.peakRss - idle.rss),
        floodSeconds: flood.seconds,
      },
      flood: { status: flood.status, firstKeptLine: flood.firstLine, lastKeptLine: flood.lastLine },
      // Bounded: what the flood leaves held (GC'd heap, the session still alive) stays within the log limit.
      targetMet: flood.status === "completed" && flood.heapUsed - idle.heapUsed < RETAINED_BOUND_BYTES && flood.keptLines <= 10_000,
      summary: [
        `idle worker RSS ${mb(idle.rss)} MB (fresh ${mb(fresh.rss)} MB, heap ${mb(idle.heapUsed)} MB)`,
        `with ${sessions} idle sessions ${mb(loaded.rss)} MB → ${Math.round(perSession / 1024)} KB per session (worker side; each app is its own Python process)`,
        `log flood of ${smallLines} lines: peak +${mb(small.peakRss - idle.rss)} MB over idle (a 4× smaller flood, for the trend)`,
        `log flood of ${floodLines} lines (~${mb(floodBytes)} MB): peak RSS ${mb(flood.peakRss)} MB (+${mb(flood.peakRss - idle.rss)} MB over idle), ${flood.keptLines} stdout lines kept; after GC, session still held: heap +${mb(flood.heapUsed - idle.heapUsed)} MB over idle, RSS ${mb(flood.rss)} MB`,
      ],
      notes: [
        "RSS is read inside the worker process after global.gc() (peak during the flood without GC).",
        "Peak RSS during a flood grows with the flood's length (GC lag: V8 enlarges its heap while lines arrive faster than it collects; the pages are not returned to the OS at once), while the live heap afterwards does not: compare both floods.",
        "The log buffer is bounded (DEFAULT_LOG_LIMITS: 10,000 lines / 4 MiB per session), so a flood costs the buffer plus transient stream buffers, not the output size.",
        QUICK ? "QUICK run: too few iterations to trust." : "",
      ].filter(Boolean),
    };
  } finally {
    await w.ask({ cmd: "exit" }).catch(() => undefined);
    if (w.child.exitCode === null) w.child.kill("SIGKILL");
  }
}

await runIfMain(import.meta.url, NAME, run);
