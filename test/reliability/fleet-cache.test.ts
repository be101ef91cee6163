/**
 * Two `serve` processes as two hosts (HYPHA_CONDA_HOSTNAME) on one cache, with the operator's CLI run as a
 * third host: one create for both, leases named by host, and a lease held on one host never evicted by
 * `cache gc` run on another. The env-layer versions (UTS namespaces, a host dying mid-create) are in
 * test/env/cache/fleet*.test.ts.
 */
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { execa } from "execa";
import type { AppManagerStandIn } from "../support/app-manager.js";
import { fakePmEnv, fakePmPath, FIXTURE_CHANNEL_URL, readInvocationLog } from "../support/fake-pm.js";
import type { HyphaTestServer } from "../support/hypha-server.js";
import type { CacheEntry } from "../../src/env/types.js";
import { ALICE } from "./support/rig.js";
import { CLI, closeServeTestBed, openServeTestBed, REPO_ROOT, startServeProcess, type ServeProcess } from "./support/serve-process.js";

let root: string;
let server: HyphaTestServer;
let manager: AppManagerStandIn;
const workers: ServeProcess[] = [];

beforeAll(async () => {
  ({ root, server, manager } = await openServeTestBed("hcw-rel-fleet-"));
});
afterAll(() => closeServeTestBed({ root, server, manager }, workers));

/** The operator's CLI on a third host sharing the cache. */
async function cliOnHost(host: string, cacheDir: string, args: string[]) {
  const env = fakePmEnv({ home: root, extra: { HYPHA_CONDA_HOSTNAME: host, HYPHA_CONDA_CACHE_DIR: cacheDir, HYPHA_CONDA_PACKAGE_MANAGER: fakePmPath("micromamba") } });
  const r = await execa(process.execPath, [CLI, ...args, "--channel-map", `conda-forge=${FIXTURE_CHANNEL_URL}`, "--no-bootstrap"], { cwd: REPO_ROOT, env, extendEnv: false, reject: false, stdin: "ignore" });
  expect(r.exitCode, String(r.stderr)).toBe(0);
  return String(r.stdout);
}

it("two hosts' workers share one create; host C's gc removes nothing while either host leases the env, and removes it after", async () => {
  const cacheDir = path.join(root, "cache");
  const pmLog = path.join(root, "pm.log");
  const common = { server, home: root, cacheDir, pmLog, knobs: { delayMsPerPackage: 200 } };
  const [a, b] = await Promise.all([
    startServeProcess({ ...common, workDir: path.join(root, "work-a"), clientId: "rel-fleet-a", env: { HYPHA_CONDA_HOSTNAME: "rel-host-a" } }),
    startServeProcess({ ...common, workDir: path.join(root, "work-b"), clientId: "rel-fleet-b", env: { HYPHA_CONDA_HOSTNAME: "rel-host-b" } }),
  ]);
  workers.push(a!, b!);
  await manager.install(
    {
      manifest: { type: "conda-python", id: "fleet", name: "fleet", entry_point: "main.py", channels: ["conda-forge"], dependencies: ["python", "tinylib"], startup_config: { wait_for_service: false } },
      files: { "main.py": "import time, tinylib\nprint('fleet app up', flush=True)\ntime.sleep(60)\n" },
    },
    { ...ALICE, appId: "fleet", verify: false, compile: false },
  );
  const sessions = await Promise.all([a!, b!, a!, b!].map((w) => manager.start("fleet", { ...ALICE, workerId: w.serviceId, timeout: 120 })));
  expect(readInvocationLog(pmLog).filter((i) => i.argv.includes("create"))).toHaveLength(1);

  const listed = JSON.parse(await cliOnHost("rel-host-c", cacheDir, ["cache", "list", "--json"])) as CacheEntry[];
  expect(listed).toHaveLength(1);
  expect(listed[0]!.leases.map((l) => l.hostname).sort()).toEqual(["rel-host-a", "rel-host-a", "rel-host-b", "rel-host-b"]);
  expect(await cliOnHost("rel-host-c", cacheDir, ["cache", "list"])).toMatch(/yes \(rel-host-a ×2, rel-host-b ×2\)/);

  // Host B's sessions stop; host A's still lease the env: host C's gc must leave it.
  await Promise.all(sessions.filter((_, i) => i % 2 === 1).map((s) => manager.stop(s.id)));
  expect(JSON.parse(await cliOnHost("rel-host-c", cacheDir, ["cache", "gc", "--max-envs", "0", "--json"]))).toEqual([]);
  const doctor = JSON.parse(await cliOnHost("rel-host-c", cacheDir, ["doctor", "--json"])) as { host: string; leases: Array<{ hostname: string; live: boolean }> };
  expect(doctor.host).toBe("rel-host-c");
  expect(doctor.leases.map((l) => `${l.hostname}:${l.live}`)).toEqual(["rel-host-a:true", "rel-host-a:true"]);

  await Promise.all(sessions.filter((_, i) => i % 2 === 0).map((s) => manager.stop(s.id)));
  const removed = JSON.parse(await cliOnHost("rel-host-c", cacheDir, ["cache", "gc", "--max-envs", "0", "--json"])) as CacheEntry[];
  expect(removed.map((e) => e.hash)).toEqual([listed[0]!.hash]);
}, 150_000);
