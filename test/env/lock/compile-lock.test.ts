/** compile (install time) with locking: the lock file is added to the app's files; an author's fitting lock is kept. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { promises as fs } from "node:fs";
import path from "node:path";
import { compileForWorker } from "../../../src/worker/compile.js";
import { formatLock, LOCK_FILE_NAME, parseLock } from "../../../src/env/lock/lock-file.js";
import { IS_REAL, makeManager, makeTestCache, TARGET, type TestCache } from "../support/env-fixtures.js";

let cache: TestCache;
beforeEach(async () => {
  cache = await makeTestCache("hcw-compile-lock-");
});
afterEach(async () => {
  await cache.cleanup();
});

const OPTIONS = { channelMap: {}, defaultChannels: [TARGET.channelUrl], allowPipOptions: false };
const MANIFEST = { type: "conda-python", entry_point: "main.py", dependencies: ["python", "tinylib<2"], _rtype: "pydantic-model" };
const solves = async () => (await fs.readFile(path.join(cache.dir, "solves.log"), "utf8").catch(() => "")).split("\n").filter(Boolean).length;

describe("compileForWorker with a lockSpec", () => {
  it("adds hypha-conda.lock.json to the files and keeps the manifest as it was", async () => {
    const manager = makeManager(cache, { knobs: { solveLog: path.join(cache.dir, "solves.log") } });
    const [manifest, files] = await compileForWorker(MANIFEST, [{ path: "main.py", content: "print(1)" }], {}, OPTIONS, (spec) => manager.lockSpec(spec));
    expect(manifest).toEqual({ type: "conda-python", entry_point: "main.py", dependencies: ["python", "tinylib<2"] });
    expect(files.map((f) => f.path)).toEqual(["main.py", LOCK_FILE_NAME]);
    const lock = parseLock(String(files[1]!.content));
    expect(lock.conda.find((p) => p.name === "tinylib")?.version).toBe("1.0");
    expect(lock.channels).toEqual([TARGET.channelUrl]);
    if (!IS_REAL) expect(await solves()).toBe(1);

    // Reinstalling the compiled app keeps its lock (it fits): no second solve.
    const [, again] = await compileForWorker(MANIFEST, files, {}, OPTIONS, (spec) => manager.lockSpec(spec));
    expect(again.find((f) => f.path === LOCK_FILE_NAME)?.content).toBe(files[1]!.content);
    if (!IS_REAL) expect(await solves()).toBe(1);

    // A lock made for other channels is replaced by a fresh one.
    const foreign = formatLock({ ...lock, channels: ["https://elsewhere.example/conda-forge"] });
    const [, replaced] = await compileForWorker(MANIFEST, [{ path: "main.py", content: "print(1)" }, { path: LOCK_FILE_NAME, content: foreign }], {}, OPTIONS, (spec) => manager.lockSpec(spec));
    expect(replaced.filter((f) => f.path === LOCK_FILE_NAME)).toHaveLength(1);
    expect(parseLock(String(replaced.find((f) => f.path === LOCK_FILE_NAME)!.content)).channels).toEqual([TARGET.channelUrl]);
  }, 120_000);

  it("fails the install with the tool's diagnosis when the dependencies cannot be solved", async () => {
    const manager = makeManager(cache);
    const bad = { ...MANIFEST, dependencies: ["python", "nosuchpkg"] };
    await expect(compileForWorker(bad, [], {}, OPTIONS, (spec) => manager.lockSpec(spec))).rejects.toThrow(/nosuchpkg/);
  }, 60_000);

  it.skipIf(IS_REAL)("names the missing package on micromamba 2.8, whose --json says only 'unsupported request'", async () => {
    const manager = makeManager(cache, { face: "micromamba", knobs: { version: "2.8.1" } });
    const bad = { ...MANIFEST, dependencies: ["python", "nosuchpkg"] };
    await expect(compileForWorker(bad, [], {}, OPTIONS, (spec) => manager.lockSpec(spec))).rejects.toThrow(/nosuchpkg/);
  }, 60_000);

  it("without lockSpec (--no-install-lock) it validates only", async () => {
    const [, files] = await compileForWorker(MANIFEST, [{ path: "main.py", content: "print(1)" }], {}, OPTIONS);
    expect(files.map((f) => f.path)).toEqual(["main.py"]);
  });
});
