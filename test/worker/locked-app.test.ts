/**
 * Lock at install, build from the lock, through the app-manager stand-in and the real CondaWorker over the
 * fake micromamba: compile stores hypha-conda.lock.json with the installed app; start builds from it with
 * an explicit create (the fake's solve log proves nothing was solved) into the env the lock's content keys.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parseLock, LOCK_FILE_NAME } from "../../src/env/lock/lock-file.js";
import { buildEnvSpec, currentSubdir } from "../../src/env/spec/spec.js";
import { hashEnvSpec } from "../../src/env/spec/hash.js";
import { connectToHypha, type HyphaServer } from "../../src/hypha/connect.js";
import type { RegisteredWorkerService } from "../../src/hypha/service.js";
import type { CondaWorker } from "../../src/worker/conda-worker.js";
import { AppManagerStandIn, logContents } from "../support/app-manager.js";
import { readInvocationLog } from "../support/fake-pm.js";
import type { HyphaTestServer } from "../support/hypha-server.js";
import { openAppWorkerBed, type AppWorkerBed } from "../support/app-worker-bed.js";
import { makeTempRoot, type TempRoot } from "../support/session-doubles.js";

const CHANNEL = `file://${path.resolve("fixtures/channel")}`;
const ALICE = { workspace: "ws-user-alice", user: "alice" };

let server: HyphaTestServer;
let manager: AppManagerStandIn;
let workerClient: HyphaServer;
let registered: RegisteredWorkerService;
let worker: CondaWorker;
let root: TempRoot;
const solveLog = () => path.join(root.dir, "solves.log");
const pmLog = () => path.join(root.dir, "pm.log");
const solves = () => readFileSync(solveLog(), "utf8").split("\n").filter(Boolean).length;

let bed: AppWorkerBed;

beforeAll(async () => {
  root = makeTempRoot("hcw-locked-app-");
  bed = await openAppWorkerBed("lock", { toolEnv: { PIP_NO_INDEX: "1", PIP_FIND_LINKS: path.resolve("fixtures/wheels"), FAKE_PM_SOLVE_LOG: solveLog(), FAKE_PM_LOG: pmLog() } });
  ({ server, manager, workerClient, registered, worker } = bed);
}, 60_000);

afterAll(async () => {
  await bed?.close();
  root?.cleanup();
});

it("install writes the lock; start builds from it without a solve", async () => {
  const app = {
    manifest: { type: "conda-python", id: "locked", name: "locked", version: "0.1.0", entry_point: "main.py", channels: ["conda-forge"], dependencies: ["python", "tinyapp"], startup_config: { wait_for_service: false } },
    files: { "main.py": "import tinyapp, tinylib\nprint('tinylib', tinylib.__version__, flush=True)\n" },
  };
  const installed = await manager.install(app, { ...ALICE, verify: false });
  const lockFile = installed.files.get(LOCK_FILE_NAME);
  expect(lockFile, "compile must add the lock to the app's files").toBeDefined();
  const lock = parseLock(lockFile!.toString("utf8"));
  expect(lock.channels).toEqual([CHANNEL]);
  expect(lock.conda.map((p) => `${p.name}-${p.version}`).sort()).toEqual(["pip-23.0.1", "python-3.11.7", "tinyapp-1.0", "tinylib-2.0"]);
  expect(solves()).toBe(1);

  const session = await manager.start("locked", { ...ALICE, timeout: 60 });
  await expect.poll(async () => logContents(await manager.getLogs(session.id, { type: "stdout" })).join("\n"), { timeout: 20_000 }).toMatch(/tinylib 2\.0/);
  expect(solves()).toBe(1);
  const creates = readInvocationLog(pmLog()).filter((i) => i.argv.includes("create") && !i.argv.includes("--dry-run"));
  expect(creates).toHaveLength(1);
  expect(creates[0]!.argv).toContain("--file");
  expect(creates[0]!.argv[creates[0]!.argv.indexOf("--file") + 1]).toMatch(/explicit\.txt$/);
  const progress = (session.progress as Array<{ message?: string }>).map((p) => p.message ?? "");
  expect(progress.some((m) => m.includes("from its lock"))).toBe(true);
  await manager.stop(session.id);
  await manager.settle();
}, 120_000);

it("an app shipping a lock that names a package outside its channels fails to start with E_ENV_LOCK, and no tool runs", async () => {
  const installed = readInvocationLog(pmLog()).length;
  const foreign = {
    format: 1,
    // Made to fit everything else (the spec this worker computes), so only the URL check can refuse it.
    specHash: hashEnvSpec(buildEnvSpec({ dependencies: ["python"], channels: ["conda-forge"] }, { channelMap: { "conda-forge": CHANNEL }, defaultChannels: ["conda-forge"], allowPipOptions: false })),
    subdir: currentSubdir(),
    channels: [CHANNEL],
    conda: [{ name: "python", version: "3.11.7", build: "fake_0", url: "https://evil.example/x/noarch/python-3.11.7-fake_0.tar.bz2", md5: "0".repeat(32) }],
    pip: [],
    lockedWith: { name: "micromamba", version: "1.5.12" },
    createdAt: "",
  };
  const app = {
    manifest: { type: "conda-python", id: "foreign", name: "foreign", version: "0.1.0", entry_point: "main.py", channels: ["conda-forge"], dependencies: ["python"], startup_config: { wait_for_service: false } },
    files: { "main.py": "print('must not run')\n", [LOCK_FILE_NAME]: JSON.stringify(foreign) },
  };
  await manager.install(app, { ...ALICE, verify: false, compile: false });
  await expect(manager.start("foreign", { ...ALICE, timeout: 30 })).rejects.toThrow(/evil\.example.*not in any of the app's channels/);
  expect(readInvocationLog(pmLog()).slice(installed).filter((i) => i.argv.includes("create"))).toEqual([]);
  await manager.settle();
}, 60_000);
