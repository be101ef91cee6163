/**
 * The worker process measured by bench/memory.mjs: a CondaWorker from dist/ (local services, app files over
 * HTTP, fake micromamba) driven over IPC, so that its RSS is the worker's alone. Run with --expose-gc.
 * Messages: {cmd: "rss"} | {cmd: "start", app, count, parallel} | {cmd: "flood", lines} | {cmd: "stopAll"}.
 */
import path from "node:path";
import { APPS_DIR, loadDist, makeTemp, cleanupTemp } from "./common.mjs";
import { createBenchEnvManager, localStartConfig, readManifest, writeBenchApp } from "./env.mjs";
import { startAppFilesServer } from "./app-files-server.mjs";

const dist = await loadDist();
const files = await startAppFilesServer();
const idleDir = writeBenchApp(path.join(makeTemp("mem-app"), "idle"), { id: "idle", main: "import time\nprint('idle', flush=True)\nwhile True:\n    time.sleep(3600)\n" });
files.addApp("idle", idleDir);
files.addApp("flood", path.join(APPS_DIR, "flood"));
const manifests = { idle: await readManifest(idleDir), flood: { ...(await readManifest(path.join(APPS_DIR, "flood"))), startup_config: { wait_for_service: false } } };
const env = await createBenchEnvManager(makeTemp("mem-cache"));
const worker = new dist.CondaWorker({ env, workingDir: makeTemp("mem-work"), serviceMode: { kind: "local" }, stopGraceMs: 2_000, passEnv: { FLOOD_LINES: process.env.BENCH_FLOOD_LINES ?? "1000000" } });
const live = [];

function rss() {
  globalThis.gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
}

async function startApp(app) {
  const config = localStartConfig(app, manifests[app], { app_files_base_url: files.baseUrlFor(app), token: "bench-app-token" });
  const id = await worker.start(config);
  live.push(id);
  return id;
}

async function handle(message) {
  switch (message.cmd) {
    case "rss":
      return rss();
    case "start": {
      for (let done = 0; done < message.count; done += message.parallel) {
        await Promise.all(Array.from({ length: Math.min(message.parallel, message.count - done) }, () => startApp(message.app)));
      }
      const running = (await worker.list_sessions("ws-bench")).filter((s) => s.status === "running").length;
      return { running, ...rss() };
    }
    case "flood": {
      let peak = 0;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 10);
      const t = Date.now();
      const id = await startApp("flood");
      for (;;) {
        const info = await worker.get_session_info(id);
        if (info.status !== "running" && info.status !== "starting") break;
        await new Promise((r) => setTimeout(r, 20));
      }
      clearInterval(sampler);
      peak = Math.max(peak, process.memoryUsage().rss);
      const info = await worker.get_session_info(id);
      const stdout = await worker.get_logs(id, "stdout");
      return { status: info.status, seconds: (Date.now() - t) / 1000, peakRss: peak, keptLines: stdout.length, firstLine: stdout[0], lastLine: stdout[stdout.length - 1], ...rss() };
    }
    case "stopAll": {
      await Promise.all(live.splice(0).map((id) => worker.stop(id)));
      return rss();
    }
    case "exit": {
      await worker.shutdown();
      await files.close();
      cleanupTemp();
      return {};
    }
    default:
      throw new Error(`unknown command ${message.cmd}`);
  }
}

process.on("message", (message) => {
  handle(message).then(
    (result) => process.send({ ok: true, result }, () => message.cmd === "exit" && process.exit(0)),
    (error) => process.send({ ok: false, error: String(error?.stack ?? error) }),
  );
});
process.send({ ok: true, result: { ready: true, ...rss() } });
