/**
 * A CondaWorker in its own Node process, as in production (`hypha-conda-worker serve` is not the server's
 * or a caller's process), driven over IPC: {cmd: "start", config} → {sessionId} | {error}; {cmd: "js", config}
 * (a hypha-rpc client of this process registers add/echo in JS, the reference without the bridge); {cmd: "floor",
 * config} (the same, but add/echo go over the bridge's framing to bench/lib/pipe-floor.py: the least a process
 * hop costs); {cmd: "exit"}.
 * BENCH_WORKER_EXEC_ARGV (space-separated) adds Node flags, e.g. `--cpu-prof --cpu-prof-dir=DIR`.
 */
import path from "node:path";
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { cleanupTemp, loadDist, makeTemp } from "./common.mjs";
import { createBenchEnvManager } from "./env.mjs";
import { startPipeFloor } from "./pipe-floor.mjs";

const SELF = fileURLToPath(import.meta.url);

/** Forks the worker process; returns { start(config) → sessionId, registerJsService(connectConfig), exit() }. */
export function forkWorkerProcess() {
  const execArgv = (process.env.BENCH_WORKER_EXEC_ARGV ?? "").split(" ").filter(Boolean);
  const child = fork(SELF, ["--child"], { execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const replies = [];
  child.on("message", (m) => replies.shift()?.(m));
  const ask = (message) => new Promise((resolve, reject) => {
    const onExit = (code) => reject(new Error(`the worker process exited (${code}) before answering ${message.cmd}`));
    child.once("exit", onExit);
    replies.push((m) => { child.off("exit", onExit); if (m.error) reject(new Error(m.error)); else resolve(m); });
    child.send(message);
  });
  return {
    start: async (config) => (await ask({ cmd: "start", config })).sessionId,
    registerJsService: async (config) => { await ask({ cmd: "js", config }); },
    registerPipeFloorService: async (config) => { await ask({ cmd: "floor", config }); },
    exit: async () => {
      if (child.exitCode !== null) return;
      const gone = new Promise((resolve) => child.once("exit", resolve));
      await ask({ cmd: "exit" }).catch(() => undefined);
      await gone;
    },
  };
}

async function serveChild() {
  const dist = await loadDist();
  const env = await createBenchEnvManager(makeTemp("worker-process-cache"));
  const worker = new dist.CondaWorker({ env, workingDir: makeTemp("worker-process-work"), stopGraceMs: 2_000 });
  const sessions = [];
  const clients = [];
  const floors = [];
  process.on("message", async (m) => {
    try {
      if (m.cmd === "start") {
        const sessionId = await worker.start(m.config);
        sessions.push(sessionId);
        process.send({ sessionId });
      } else if (m.cmd === "js") {
        const client = await dist.connectToHypha(m.config);
        clients.push(client);
        await client.registerService({ id: "default", config: { visibility: "public" }, add: (a, b) => a + b, echo: (v) => v });
        process.send({ ok: true });
      } else if (m.cmd === "floor") {
        const floor = startPipeFloor();
        floors.push(floor);
        const client = await dist.connectToHypha(m.config);
        clients.push(client);
        await client.registerService({ id: "default", config: { visibility: "public" }, add: (a, b) => floor.add(a, b), echo: (v) => floor.echo(v) });
        process.send({ ok: true });
      } else if (m.cmd === "exit") {
        for (const floor of floors) floor.stop();
        for (const id of sessions) await worker.stop(id).catch(() => undefined);
        for (const client of clients) await client.disconnect().catch(() => undefined);
        await worker.shutdown().catch(() => undefined);
        cleanupTemp();
        process.send({ done: true }, () => process.exit(0));
      }
    } catch (error) {
      process.send({ error: error?.stack ?? String(error) });
    }
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === SELF && process.argv.includes("--child")) await serveChild();
