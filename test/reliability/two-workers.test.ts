/**
 * Two worker processes (the built `serve`) on one cache under 20 concurrent starts of the same app
 * (called the Python-server way, alternating between the workers): exactly one package-manager create,
 * every session runs, and nothing is left after they stop. The in-process variant (two CondaWorkers, one
 * start each) is in test/worker/e2e.test.ts; the env-layer variant in test/env/ensure-env.processes.test.ts.
 */
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { logContents, type AppManagerStandIn, type AppSession } from "../support/app-manager.js";
import { readInvocationLog } from "../support/fake-pm.js";
import type { HyphaTestServer } from "../support/hypha-server.js";
import { ALICE, leftoversIn } from "./support/rig.js";
import { pollUntil } from "./support/proc.js";
import { closeServeTestBed, openServeTestBed, startServeProcess, type ServeProcess } from "./support/serve-process.js";

const STARTS = 20;
let root: string;
let server: HyphaTestServer;
let manager: AppManagerStandIn;
const workers: ServeProcess[] = [];

beforeAll(async () => {
  ({ root, server, manager } = await openServeTestBed("hcw-rel-twins-"));
});
afterAll(() => closeServeTestBed({ root, server, manager }, workers));

it(`${STARTS} concurrent starts over two worker processes on one cache → exactly 1 create, all sessions run`, async () => {
  const cacheDir = path.join(root, "cache");
  const pmLog = path.join(root, "pm.log");
  const common = { server, home: root, cacheDir, pmLog, knobs: { delayMsPerPackage: 200 } };
  const [a, b] = await Promise.all([
    startServeProcess({ ...common, workDir: path.join(root, "work-a"), clientId: "rel-twin-a" }),
    startServeProcess({ ...common, workDir: path.join(root, "work-b"), clientId: "rel-twin-b" }),
  ]);
  workers.push(a!, b!);
  await manager.install(
    {
      manifest: { type: "conda-python", id: "twins", name: "twins", entry_point: "main.py", channels: ["conda-forge"], dependencies: ["python", "tinylib"], startup_config: { wait_for_service: false } },
      files: { "main.py": "import os, time, tinylib\nprint('twin ran', os.environ['HYPHA_CLIENT_ID'], tinylib.__version__, flush=True)\ntime.sleep(60)\n" },
    },
    { ...ALICE, appId: "twins", verify: false, compile: false },
  );
  const started = Date.now();
  const sessions = await Promise.all(
    Array.from({ length: STARTS }, (_, i) => manager.start("twins", { ...ALICE, workerId: (i % 2 === 0 ? a! : b!).serviceId, timeout: 120 })),
  );
  console.info(`[reliability] ${STARTS} concurrent starts of one new env over 2 worker processes: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const creates = readInvocationLog(pmLog).filter((i) => i.argv.includes("create"));
  expect(creates).toHaveLength(1);

  const context = manager.contextFor(ALICE);
  const infos = await Promise.all(
    sessions.map((s: AppSession) => manager.callWithKwargs(s.worker_id, "get_session_info", [s.id], { context }) as Promise<{ status: string; metadata: Record<string, unknown> }>),
  );
  expect(infos.map((i) => i.status)).toEqual(Array(STARTS).fill("running"));
  expect(new Set(infos.map((i) => i.metadata.env_hash)).size).toBe(1);
  expect(infos.filter((i) => i.metadata.env_status === "created")).toHaveLength(1);
  const ran = await pollUntil(async () => {
    const outs = (await Promise.all(sessions.map((s) => manager.getLogs(s.id, { type: "stdout" })))).map(logContents);
    return outs.every((lines, i) => lines.join("\n").includes(`twin ran ${sessions[i]!.client_id} 2.0`));
  }, 30_000, 200);
  expect(ran).toBe(true);

  await Promise.all(sessions.map((s) => manager.stop(s.id)));
  for (const work of ["work-a", "work-b"]) {
    const left = leftoversIn(cacheDir, path.join(root, work));
    expect(left.locks, "locks").toEqual([]);
    expect(left.leases, "leases").toEqual([]);
    expect(left.workDirs, "working dirs").toEqual([]);
    expect(left.envs).toHaveLength(1);
  }
}, 150_000);
