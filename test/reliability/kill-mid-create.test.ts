/**
 * SIGKILL of the worker process (the built `serve`) while it creates an env, then recovery: a new worker
 * process on the same cache starts the same app, takes over the dead holder's lock (killing its orphaned
 * package manager), rebuilds the env from scratch, never uses the partial one, and releases everything.
 * The env-layer variant (ensureEnv in a bundled child) is test/env/ensure-env.processes.test.ts.
 */
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { cacheLayout } from "../../src/env/cache/cache-layout.js";
import { liveLeases } from "../../src/env/cache/lease.js";
import { readMarker } from "../../src/env/cache/marker.js";
import { logContents, type AppManagerStandIn } from "../support/app-manager.js";
import { readInvocationLog } from "../support/fake-pm.js";
import type { HyphaTestServer } from "../support/hypha-server.js";
import { leftoversIn, ALICE } from "./support/rig.js";
import { isRunning, pollUntil } from "./support/proc.js";
import { closeServeTestBed, openServeTestBed, startServeProcess, type ServeProcess } from "./support/serve-process.js";

let root: string;
let server: HyphaTestServer;
let manager: AppManagerStandIn;
const workers: ServeProcess[] = [];

beforeAll(async () => {
  ({ root, server, manager } = await openServeTestBed("hcw-rel-kill-"));
});
afterAll(() =>
  closeServeTestBed({ root, server, manager }, workers, () => {
    for (const { pid } of readInvocationLog(path.join(root, "pm.log"))) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // Gone.
      }
    }
  }),
);

it("a worker SIGKILLed mid-create: the next worker rebuilds, never uses the partial env, and recovers the lock", async () => {
  const cacheDir = path.join(root, "cache");
  const pmLog = path.join(root, "pm.log");
  const common = { server, home: root, cacheDir, pmLog };
  const doomed = await startServeProcess({ ...common, workDir: path.join(root, "work-a"), clientId: "rel-doomed", knobs: { delayMsPerPackage: 1500 } });
  workers.push(doomed);
  const source = {
    manifest: { type: "conda-python", id: "rebuilt", name: "rebuilt", entry_point: "main.py", channels: ["conda-forge"], dependencies: ["python", "tinylib", "tinytool", "tinyactivate"], startup_config: { wait_for_service: false } },
    files: { "main.py": "import time, tinylib\nprint('rebuilt app ran with tinylib', tinylib.__version__, flush=True)\ntime.sleep(60)\n" },
  };
  await manager.install(source, { ...ALICE, appId: "rebuilt", verify: false, compile: false });
  const first = manager.start("rebuilt", { ...ALICE, workerId: doomed.serviceId, timeout: 60 }).then(
    () => "started",
    (e: Error) => e.message,
  );
  expect(await pollUntil(() => readInvocationLog(pmLog).some((i) => i.argv.includes("create")), 20_000)).toBe(true);
  // Let the tool link a package or two into the prefix, then kill the worker (not its tool).
  await new Promise((r) => setTimeout(r, 1_000));
  doomed.child.kill("SIGKILL");
  await doomed.child;
  expect(await first).not.toBe("started");
  const orphan = readInvocationLog(pmLog).find((i) => i.argv.includes("create"))!;
  expect(isRunning(orphan.pid), "the killed worker's package manager keeps running as an orphan").toBe(true);
  const partial = leftoversIn(cacheDir, path.join(root, "work-a"));
  expect(partial.envs).toHaveLength(1);
  expect(await readMarker(path.join(cacheDir, "envs", partial.envs[0]!))).toBeUndefined();

  const heir = await startServeProcess({ ...common, workDir: path.join(root, "work-b"), clientId: "rel-heir" });
  workers.push(heir);
  const session = await manager.start("rebuilt", { ...ALICE, workerId: heir.serviceId, timeout: 90 });
  const context = manager.contextFor(ALICE);
  const info = (await manager.callWithKwargs(heir.serviceId, "get_session_info", [session.id], { context })) as { status: string; metadata: Record<string, unknown> };
  expect(info.status).toBe("running");
  expect(info.metadata.env_status).toBe("created");
  expect(isRunning(orphan.pid), "taking over the dead holder's lock kills its orphaned tool").toBe(false);
  const creates = readInvocationLog(pmLog).filter((i) => i.argv.includes("create"));
  expect(creates).toHaveLength(2);
  expect(await readMarker(String(info.metadata.env_prefix))).toMatchObject({ hash: info.metadata.env_hash });
  expect(
    await pollUntil(async () => logContents(await manager.getLogs(session.id, { type: "stdout" })).join("\n").includes("rebuilt app ran with tinylib"), 15_000, 100),
  ).toBe(true);
  await manager.stop(session.id);
  const left = leftoversIn(cacheDir, path.join(root, "work-b"));
  expect(left.locks, "locks").toEqual([]);
  // The killed worker's lease (taken before its env build) is dead: its pid is gone, so it holds nothing
  // and the next look removes it.
  expect(await liveLeases(cacheLayout(cacheDir), String(info.metadata.env_hash))).toEqual([]);
  expect(leftoversIn(cacheDir, path.join(root, "work-b")).leases, "leases after the dead one was swept").toEqual([]);
  expect(left.workDirs, "working dirs").toEqual([]);
  expect(left.envs).toHaveLength(1);
}, 120_000);
