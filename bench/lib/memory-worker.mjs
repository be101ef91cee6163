/**
 * The worker process measured by bench/memory.mjs: a CondaWorker from dist/ (local services, app files over
 * HTTP, fake micromamba) driven over IPC, so that its RSS is the worker's alone. Run with --expose-gc.
 * Messages: {cmd: "rss"} | {cmd: "start", app, count, parallel} | {cmd: "flood", lines} | {cmd: "stopAll"} | {cmd: "exit"}.
 */
import fs from "node:fs";
import path from "node:path";
import { APPS_DIR, loadDist, makeTemp, cleanupTemp } from "./common.mjs";
import { createBenchEnvManager, localStartConfig, readManifest, writeBenchApp } from "./env.mjs";
import { startAppFilesServer } from "./app-files-server.mjs";

const dist = await loadDist();
const files = await startAppFilesServer();
const idleDir = writeBenchApp(path.join(makeTemp("mem-app"), "idle"), { id: "idle", main: "import time\nprint('idle', flush=True)\nwhile True:\n    time.sleep(3600)\n" });
files.addApp("idle", idleDir);
// The flood fixture with its line count fixed in the code (FLOOD_LINES default), one app per size.
const floodMain = fs.readFileSync(path.join(APPS_DIR, "flood", "main.py"), "utf8");
const floodManifest = { ...(await readManifest(path.join(APPS_DIR, "flood"))), startup_config: { wait_for_service: false } };
const manifests = { idle: await readManifest(idleDir) };
function floodApp(lines) {
  const app = `flood-${lines}`;
  if (manifests[app]) return app;
  const main = floodMain.replace('os.environ.get("FLOOD_LINES", "200000")', `os.environ.get("FLOOD_LINES", "${lines}")`);
  if (main === floodMain) throw new Error("fixtures/apps/flood/main.py changed: its FLOOD_LINES default was not found");
  const dir = writeBenchApp(path.join(makeTemp("mem-flood"), app), { id: app, main });
  files.addApp(app, dir);
  manifests[app] = { ...floodManifest, id: app };
  return app;
}
const env = await createBenchEnvManager(makeTemp("mem-cache"));
const worker = new dist.CondaWorker({ env, workingDir: makeTemp("mem-work"), serviceMode: { kind: "local" }, stopGraceMs: 2_000 });
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
      const id = await startApp(floodApp(message.lines));
      for (;;) {
        const info = await worker.get_session_info(id);
        if (info.status !== "running" && info.status !== "starting") break;
        await new Promise((r) => setTimeout(r, 20));
      }
      clearInterval(sampler);
      peak = Math.max(peak, process.memoryUsage().rss);
      const info = await worker.get_session_info(id);
      const stdout = (await worker.get_logs(id, "stdout")).items.map((item) => item.content);
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
