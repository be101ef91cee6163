/**
 * Load and cleanup: 200 sessions started and stopped through the worker service (kwargs from the
 * server's client) leak no process, file descriptor, lease, lock or working dir; an app that ignores
 * SIGTERM and forks grandchildren (one of them in its own session) leaves nothing after stop.
 * Unit-level variants: test/session/process.test.ts, test/session/session.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logContents } from "../support/app-manager.js";
import { ALICE, Rig } from "./support/rig.js";
import { isRunning, liveDescendants, openFdCount, pidsWithCmdline, pollUntil } from "./support/proc.js";

const SESSIONS = 200;
const PARALLEL = 4;
let rig: Rig;

beforeAll(async () => {
  rig = await Rig.start();
}, 60_000);
afterAll(async () => {
  await rig?.close();
});

async function startStop(appId: string, manifest: Record<string, unknown>): Promise<string> {
  const config = rig.startConfig(appId, manifest);
  const id = (await rig.call("start", [config])) as string;
  await rig.call("stop", [id]);
  return id;
}

describe("200 sessions in a loop", () => {
  it("leave no process, file descriptor, lease, lock or working dir behind", async () => {
    const appId = await rig.install("tiny", "print('tiny ran', flush=True)\n");
    // Warm up: the env is created once, hypha-rpc and the file server open their long-lived sockets.
    for (let i = 0; i < 3; i += 1) await startStop(appId, {});
    await pollUntil(() => rig.worker.sessionIds().length === 0, 5_000);
    const processesBefore = new Set(liveDescendants(process.pid));
    const fdsBefore = openFdCount();

    const started = Date.now();
    let next = 0;
    const ids: string[] = [];
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        while (next < SESSIONS) {
          next += 1;
          ids.push(await startStop(appId, {}));
        }
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    console.info(`[reliability] ${SESSIONS} start+stop cycles (${PARALLEL} at a time) in ${seconds.toFixed(1)} s`);
    expect(new Set(ids).size).toBe(SESSIONS);
    await rig.manager.settle();

    // Everything a session holds is released by the time stop returned; allow the event loop to close sockets.
    expect(await pollUntil(() => liveDescendants(process.pid).every((pid) => processesBefore.has(pid)), 5_000)).toBe(true);
    expect(await pollUntil(() => openFdCount() <= fdsBefore + 8, 5_000)).toBe(true);
    expect(rig.worker.sessionIds()).toEqual([]);
    expect(rig.worker.get_load()).toBe(0);
    const left = rig.leftovers();
    expect(left.leases).toEqual([]);
    expect(left.locks).toEqual([]);
    expect(left.workDirs).toEqual([]);
    expect(left.envs).toHaveLength(1);
    // One create for the whole loop: every later start was a lock-free cache hit.
    const creates = (await import("../support/fake-pm.js")).readInvocationLog(rig.pmLog).filter((i) => i.argv.includes("create"));
    expect(creates).toHaveLength(1);
  }, 120_000);
});

describe("an app that ignores SIGTERM and forks grandchildren", () => {
  it("has nothing left after stop, including a grandchild that left the process group", async () => {
    const mark = `REL-MARK-${Math.random().toString(36).slice(2)}`;
    const main = [
      "import os, signal, subprocess, sys, time",
      "signal.signal(signal.SIGTERM, signal.SIG_IGN)",
      "ignore = 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)'",
      `child = subprocess.Popen([sys.executable, '-c', ignore, '${mark}'])`,
      `escapee = subprocess.Popen([sys.executable, '-c', ignore, '${mark}'], start_new_session=True)`,
      "pid = os.fork()",
      "if pid == 0:",
      "    signal.signal(signal.SIGTERM, signal.SIG_IGN)",
      "    time.sleep(120)",
      "    os._exit(0)",
      "print('PIDS', os.getpid(), child.pid, escapee.pid, pid, flush=True)",
      "time.sleep(120)",
    ].join("\n");
    const appId = await rig.install("stubborn", main);
    const config = rig.startConfig(appId, {});
    const id = (await rig.call("start", [config])) as string;
    let pids: number[] = [];
    await pollUntil(async () => {
      const stdout = logContents(await rig.call("get_logs", [id], { type: "stdout" }));
      const line = stdout.find((l) => l.startsWith("PIDS "));
      if (line) pids = line.slice(5).split(" ").map(Number);
      return pids.length === 4;
    }, 20_000, 100);
    expect(pids).toHaveLength(4);
    for (const pid of pids) expect(isRunning(pid)).toBe(true);
    expect(pidsWithCmdline(mark)).toHaveLength(2);

    await rig.call("stop", [id]);
    for (const pid of pids) expect(isRunning(pid), `pid ${pid} survived stop`).toBe(false);
    expect(pidsWithCmdline(mark)).toEqual([]);
    const info = await rig.call("list_sessions", [], { workspace: ALICE.workspace });
    expect(info).toEqual([]);
    expect(rig.leftovers().workDirs).toEqual([]);
    expect(rig.leftovers().leases).toEqual([]);
  }, 60_000);
});
