/**
 * A fleet: three `serve` processes (the built CLI) of one user, started at the same moment against one
 * test server with one shared cache. The server refuses two of the first connections exactly as Hypha
 * 0.21.135 did ("Workspace already exists: ws-user-<user>"); all three retry and come up. Then 9 starts of
 * one installed, locked autoscaling app (compile solved it into hypha-conda.lock.json) with
 * `select:min:get_load`, each placed while the earlier ones are still starting (the first is building
 * the env), land 3/3/3 and run in one env built by exactly one create, from the lock (no solve at start);
 * then 6 more land 2/2/2 on that env. Starts placed at exactly the same instant read the same get_load
 * figures (the stand-in selects before any start reaches a worker), so each is placed once the previous one
 * has reached its worker, as the real server's own per-start steps stagger them.
 */
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { logContents, type AppManagerStandIn, type AppSession } from "../support/app-manager.js";
import { readInvocationLog } from "../support/fake-pm.js";
import type { HyphaTestServer } from "../support/hypha-server.js";
import { leftoversIn } from "./support/rig.js";
import { pollUntil } from "./support/proc.js";
import { closeServeTestBed, openServeTestBed, startServeProcess, type ServeProcess } from "./support/serve-process.js";

const FLEET = { workspace: "ws-user-fleet", user: "fleet" };
const WORKERS = 3;
const STARTS = 9;
let root: string;
let server: HyphaTestServer;
let manager: AppManagerStandIn;
const workers: ServeProcess[] = [];

beforeAll(async () => {
  ({ root, server, manager } = await openServeTestBed("hcw-rel-fleet-"));
});
afterAll(() => closeServeTestBed({ root, server, manager }, workers));

async function loadOf(worker: ServeProcess): Promise<number> {
  return Number(await manager.callPositional(worker.serviceId, "get_load", []));
}

it(`${WORKERS} serve processes started at once all come up; ${STARTS} starts by select:min:get_load land evenly on one env`, async () => {
  const cacheDir = path.join(root, "cache");
  const pmLog = path.join(root, "pm.log");
  // The first connection creates the workspace; the next two race it and are refused, as on 0.21.135.
  server.faults.refuseWorkspaceRace({ count: WORKERS - 1, workspace: FLEET.workspace, after: 1 });
  const common = { server, home: root, cacheDir, pmLog, workspace: FLEET.workspace, userId: FLEET.user, knobs: { delayMsPerPackage: 300 } };
  const spawnedAt = Date.now();
  const started = await Promise.all(
    Array.from({ length: WORKERS }, (_, i) => startServeProcess({ ...common, workDir: path.join(root, `work-${i}`), clientId: `fleet-${i}`, args: ["--connect-attempts", "5"] })),
  );
  workers.push(...started);
  const upS = (Date.now() - spawnedAt) / 1000;
  expect(server.faults.refused).toHaveLength(WORKERS - 1);
  const retried = started.filter((w) => /connection attempt 1\/5 to .* failed: ConnectionAbortedError: Failed to establish connection: Workspace already exists: ws-user-fleet; retrying in/.test(w.stderr()));
  expect(retried).toHaveLength(WORKERS - 1);
  for (const w of started) expect(w.stderr()).not.toContain(w.token);
  expect(new Set(started.map((w) => w.serviceId)).size).toBe(WORKERS);

  await manager.install(
    {
      manifest: {
        type: "conda-python", id: "fleet-app", name: "fleet-app", entry_point: "main.py", channels: ["conda-forge"], dependencies: ["python", "tinylib"],
        autoscaling: { enabled: true, min_instances: 1, max_instances: STARTS }, startup_config: { wait_for_service: false },
      },
      files: { "main.py": "import os, time, tinylib\nprint('fleet app', os.environ['HYPHA_CLIENT_ID'], tinylib.__version__, flush=True)\ntime.sleep(120)\n" },
    },
    { ...FLEET, appId: "fleet-app", verify: false },
  );
  // Install solved the spec once (a dry run, nothing created) into the lock every host builds from.
  expect(readInvocationLog(pmLog).filter((i) => i.argv.includes("--dry-run"))).toHaveLength(1);
  const waits = started.flatMap((w) => [...w.stderr().matchAll(/retrying in (\d+\.\d) s/g)].map((m) => m[1]));
  console.info(`[reliability] ${WORKERS} serve processes started at once: all registered after ${upS.toFixed(1)} s; ${WORKERS - 1} refused first connections retried after ${waits.join(", ")} s`);
  /** Starts `count` instances, each placed once the previous one has reached its worker (counted by get_load), not once it is up. */
  const placeStarts = async (count: number): Promise<AppSession[]> => {
    const pending: Array<Promise<AppSession>> = [];
    for (let i = 0; i < count; i += 1) {
      pending.push(manager.start("fleet-app", { ...FLEET, mode: "select:min:get_load", timeout: 120 }));
      const counted = await pollUntil(async () => (await Promise.all(started.map(loadOf))).reduce((a, b) => a + b, 0) === i + 1, 30_000, 50);
      expect(counted, `start ${i + 1} counted by get_load`).toBe(true);
    }
    return Promise.all(pending);
  };
  const startsAt = Date.now();
  const sessions = await placeStarts(STARTS);
  const perWorker = started.map((w) => sessions.filter((s) => s.worker_id === w.serviceId).length);
  console.info(`[reliability] ${STARTS} overlapping starts with select:min:get_load over ${WORKERS} serve processes: ${perWorker.join("/")} in ${((Date.now() - startsAt) / 1000).toFixed(1)} s`);
  expect(perWorker).toEqual([3, 3, 3]);
  expect(await Promise.all(started.map(loadOf))).toEqual([3, 3, 3]);

  const creates = readInvocationLog(pmLog).filter((i) => i.argv.includes("create") && !i.argv.includes("--dry-run"));
  expect(creates).toHaveLength(1);
  expect(creates[0]!.argv[creates[0]!.argv.indexOf("--file") + 1], "the create is the lock's explicit list").toMatch(/explicit\.txt$/);
  const context = manager.contextFor(FLEET);
  const infos = await Promise.all(
    sessions.map((s) => manager.callWithKwargs(s.worker_id, "get_session_info", [s.id], { context }) as Promise<{ status: string; metadata: Record<string, unknown> }>),
  );
  expect(infos.map((i) => i.status)).toEqual(Array(STARTS).fill("running"));
  expect(new Set(infos.map((i) => i.metadata.env_hash)).size).toBe(1);
  expect(infos.filter((i) => i.metadata.env_status === "created")).toHaveLength(1);
  const ran = await pollUntil(async () => {
    const outs = await Promise.all(sessions.map(async (s) => logContents(await manager.getLogs(s.id, { type: "stdout" }))));
    return outs.every((lines, i) => lines.join("\n").includes(`fleet app ${sessions[i]!.client_id} 2.0`));
  }, 30_000, 200);
  expect(ran).toBe(true);

  await Promise.all(sessions.map((s) => manager.stop(s.id)));
  expect(await Promise.all(started.map(loadOf))).toEqual([0, 0, 0]);

  // The figure: 6 overlapping starts of the locked app spread 2/2/2, still on the one env.
  const second = await placeStarts(6);
  expect(started.map((w) => second.filter((s) => s.worker_id === w.serviceId).length)).toEqual([2, 2, 2]);
  expect(readInvocationLog(pmLog).filter((i) => i.argv.includes("create") && !i.argv.includes("--dry-run"))).toHaveLength(1);
  await Promise.all(second.map((s) => manager.stop(s.id)));
  for (let i = 0; i < WORKERS; i += 1) {
    const left = leftoversIn(cacheDir, path.join(root, `work-${i}`));
    expect(left.locks, "locks").toEqual([]);
    expect(left.leases, "leases").toEqual([]);
    expect(left.envs).toHaveLength(1);
  }
}, 240_000);
