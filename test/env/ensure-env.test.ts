import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { promises as fs } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { fakePmPath, readInvocationLog } from "../support/fake-pm.js";
import { IS_REAL, makeManager, makeSpec, makeTestCache, TARGET, TEST_TOKEN, type TestCache } from "./support/env-fixtures.js";
import { describeFakeOnly } from "../support/package-manager-target.js";
import { cacheLayout, envLockPath } from "../../src/env/cache-layout.js";
import { isLocked } from "../../src/env/lock.js";
import { markerPath, readMarker } from "../../src/env/marker.js";
import { hashEnvSpec } from "../../src/env/hash.js";
import { WorkerError } from "../../src/errors.js";
import type { ProgressEvent } from "../../src/progress.js";

let cache: TestCache;
beforeEach(async () => {
  cache = await makeTestCache();
});
afterEach(async () => {
  await cache.cleanup();
});

const creates = (log: string) => readInvocationLog(log).filter((i) => i.argv.includes("create"));

async function expectNothingCached(hash: string, prefix?: string) {
  const layout = cacheLayout(cache.cacheDir);
  expect(await isLocked(envLockPath(layout, hash))).toBe(false);
  if (prefix) await expect(fs.access(prefix)).rejects.toThrow();
  const entries = await fs.readdir(layout.envsDir).catch(() => []);
  expect(entries).toEqual([]);
}

async function catchError(p: Promise<unknown>): Promise<WorkerError> {
  try {
    await p;
  } catch (error) {
    expect(error).toBeInstanceOf(WorkerError);
    return error as WorkerError;
  }
  throw new Error("expected a rejection");
}

const FAKE_FACES = [
  { face: "micromamba" as const, knobs: {}, args: (p: string, f: string, root: string) => ["create", "-p", p, "-f", f, "-y", "--json", "-r", root], pkgsVar: "MAMBA_PKGS_DIRS" },
  { face: "mamba" as const, knobs: {}, args: (p: string, f: string, root: string) => ["create", "-p", p, "-f", f, "-y", "--json", "-r", root], pkgsVar: "MAMBA_PKGS_DIRS" },
  { face: "mamba" as const, knobs: { mambaMajor: 1 as const }, args: (p: string, f: string) => ["env", "create", "-p", p, "-f", f, "--yes"], pkgsVar: "CONDA_PKGS_DIRS" },
  { face: "conda" as const, knobs: {}, args: (p: string, f: string) => ["env", "create", "-p", p, "-f", f, "--yes", "--json"], pkgsVar: "CONDA_PKGS_DIRS" },
];
// Against a real tool (HYPHA_CONDA_TEST_PACKAGE_MANAGER) only that tool runs, and no invocation log exists.
const FACES = IS_REAL ? [{ ...FAKE_FACES[0]!, face: TARGET.name }] : FAKE_FACES;

describe.each(FACES)("ensureEnv with $face $knobs", ({ face, knobs, args, pkgsVar }) => {
  it("creates a working env with the flavour's argv, no secrets, then hits with zero tool processes", async () => {
    const spec = makeSpec(["python", "tinylib", "tinyactivate"], ["tinywheel"]);
    const events: ProgressEvent[] = [];
    const manager = makeManager(cache, { face, knobs });
    const created = await manager.ensureEnv(spec, { onProgress: (e) => events.push(e) });
    expect(created).toMatchObject({ status: "created", hash: hashEnvSpec(spec), packageManager: { name: face } });
    expect(created.prefix.startsWith(path.join(cache.cacheDir, "envs") + path.sep)).toBe(true);
    const probe = await execa(created.pythonPath, ["-c", "import tinylib, tinywheel; print(tinylib.__version__, tinywheel.__version__)"], { env: created.activation, extendEnv: false });
    expect(probe.stdout).toBe("2.0 0.1");
    expect(created.activation.TINYACTIVATE_HOME).toBe(path.join(created.prefix, "share", "tinyactivate"));
    expect(created.activation.PATH!.split(":")[0]).toBe(path.join(created.prefix, "bin"));
    expect(created.activation).toMatchObject({ CONDA_PREFIX: created.prefix, CONDA_SHLVL: "1" });
    expect(events.map((e) => e.phase)).toEqual(expect.arrayContaining(["resolving", "cache", "creating", "verifying", "done"]));
    if (IS_REAL) {
      expect((await makeManager(cache, { face, knobs }).ensureEnv(spec)).status).toBe("cached");
      return;
    }

    const [create, ...more] = creates(cache.log);
    expect(more).toEqual([]);
    const envFile = create!.argv[create!.argv.indexOf("-f") + 1]!;
    expect(create!.argv).toEqual(args(created.prefix, envFile, path.join(cache.cacheDir, "mamba-root")));
    expect(create!.env[pkgsVar]).toBe(path.join(cache.cacheDir, "pkgs"));
    for (const invocation of readInvocationLog(cache.log)) {
      expect(JSON.stringify(invocation)).not.toContain(TEST_TOKEN);
      expect(Object.keys(invocation.env).filter((k) => k.startsWith("HYPHA_"))).toEqual([]);
    }
    // The worker's private temp dir is gone after the create.
    await expect(fs.access(path.dirname(envFile))).rejects.toThrow();

    const before = readInvocationLog(cache.log).length;
    // A fresh manager (a restarted worker) hits too, without even detecting the tool.
    const hit = await makeManager(cache, { face, knobs }).ensureEnv(spec);
    expect(hit).toMatchObject({ status: "cached", prefix: created.prefix, activation: created.activation });
    expect(hit.packageManager).toBeUndefined();
    expect(readInvocationLog(cache.log).length).toBe(before);
  });

  it("surfaces a missing package and an unsatisfiable request, leaving nothing behind", async () => {
    const manager = makeManager(cache, { face, knobs });
    const missingSpec = makeSpec(["python", "nosuchpkg"]);
    const missing = await catchError(manager.ensureEnv(missingSpec));
    expect(missing.code).toBe("E_ENV_CREATE");
    expect(missing.details).toMatchObject({ diagnosis: "packages-not-found" });
    expect(missing.message).toContain("nosuchpkg");
    await expectNothingCached(hashEnvSpec(missingSpec));

    const conflict = makeSpec(["python", "tinyapp", "tinylib<2"]);
    const unsat = await catchError(manager.ensureEnv(conflict));
    expect(unsat.code).toBe("E_ENV_CREATE");
    expect(unsat.details).toMatchObject({ diagnosis: "unsatisfiable" });
    expect(unsat.message).toMatch(/tinylib/);
    await expectNothingCached(hashEnvSpec(conflict));
  });

  it("surfaces pip's error and removes the half-built env", async () => {
    const spec = makeSpec(["python"], ["nosuchwheel"]);
    const error = await catchError(makeManager(cache, { face, knobs }).ensureEnv(spec));
    expect(error.code).toBe("E_ENV_CREATE");
    expect(error.details).toMatchObject({ diagnosis: "pip-failed" });
    expect(error.message).toContain("nosuchwheel");
    await expectNothingCached(hashEnvSpec(spec));
  });
});

describeFakeOnly("ensureEnv failure handling (fake knobs)", () => {
  it("kills a hung tool at the timeout, releases the lock, and the next ensure proceeds", async () => {
    const spec = makeSpec(["python", "tinylib"]);
    // A launcher that hangs only the create (its --version answers), so detection succeeds first.
    const launcher = path.join(cache.dir, "bin", "micromamba");
    await fs.mkdir(path.dirname(launcher), { recursive: true });
    await fs.writeFile(launcher, `#!/bin/sh\nif [ "$1" = create ]; then FAKE_PM_HANG=1; export FAKE_PM_HANG; fi\nexec "${fakePmPath("micromamba")}" "$@"\n`, { mode: 0o755 });
    const hung = makeManager(cache, { options: { createTimeoutMs: 1500, packageManager: launcher } });
    const error = await catchError(hung.ensureEnv(spec));
    expect(error.code).toBe("E_ENV_TIMEOUT");
    expect(error.message).toMatch(/longer than 2 s/);
    const pids = readInvocationLog(cache.log).map((i) => i.pid);
    expect(pids.length).toBeGreaterThan(0);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    await expectNothingCached(hashEnvSpec(spec));
    const next = await makeManager(cache).ensureEnv(spec);
    expect(next.status).toBe("created");
  });

  it("a tool killed mid-create leaves nothing; the next ensure rebuilds", async () => {
    const spec = makeSpec(["python", "tinylib", "tinytool"]);
    const error = await catchError(makeManager(cache, { knobs: { crashAfterPackages: 2 } }).ensureEnv(spec));
    expect(error.code).toBe("E_ENV_CREATE");
    await expectNothingCached(hashEnvSpec(spec));
    const next = await makeManager(cache).ensureEnv(spec);
    expect(next.status).toBe("created");
  });

  it("never uses a partial prefix without a marker (a worker killed mid-create), and rebuilds it", async () => {
    const spec = makeSpec(["python", "tinylib"]);
    const manager = makeManager(cache);
    const first = await manager.ensureEnv(spec);
    // Simulate the state a SIGKILLed worker leaves: packages linked, no marker.
    await fs.rm(markerPath(first.prefix));
    await fs.writeFile(path.join(first.prefix, "partial-leftover"), "x");
    const again = await makeManager(cache).ensureEnv(spec);
    expect(again.status).toBe("created");
    await expect(fs.access(path.join(first.prefix, "partial-leftover"))).rejects.toThrow();
    expect(await readMarker(first.prefix)).toMatchObject({ hash: first.hash });
  });

  it("cancels a create when the caller's signal aborts", async () => {
    const spec = makeSpec(["python", "tinylib"]);
    const controller = new AbortController();
    const manager = makeManager(cache, { knobs: { delayMsPerPackage: 2000 } });
    const pending = catchError(manager.ensureEnv(spec, { signal: controller.signal, onProgress: (e) => e.phase === "creating" && controller.abort() }));
    const error = await pending;
    expect(error.code).toBe("E_ENV_CREATE");
    expect(error.details).toMatchObject({ cancelled: true });
    await expectNothingCached(hashEnvSpec(spec));
  });
});

describe("ensureEnv concurrency", () => {
  it("5 concurrent ensures of one spec in one process → exactly one create", async () => {
    const spec = makeSpec(["python", "tinylib"]);
    const manager = makeManager(cache, { knobs: { delayMsPerPackage: 100 } });
    const results = await Promise.all(Array.from({ length: 5 }, () => manager.ensureEnv(spec)));
    expect(results.filter((r) => r.status === "created")).toHaveLength(1);
    expect(new Set(results.map((r) => r.prefix)).size).toBe(1);
    if (!IS_REAL) expect(creates(cache.log)).toHaveLength(1);
  });

  it("3 different specs at once on a cold shared package cache all succeed (creates serialized)", async () => {
    const manager = makeManager(cache, { knobs: { corruptColdCache: true, extractDelayMs: 300 } });
    const specs = [makeSpec(["python", "tinylib"]), makeSpec(["python", "tinytool"]), makeSpec(["python", "tinyactivate"])];
    const results = await Promise.all(specs.map((s) => manager.ensureEnv(s)));
    expect(results.map((r) => r.status)).toEqual(["created", "created", "created"]);
    if (!IS_REAL) expect(creates(cache.log)).toHaveLength(3);
    for (const r of results) await execa(r.pythonPath, ["-c", "pass"]);
  });

  it("rejects the spec's hash mismatch: a marker for another spec at the same prefix is not a hit", async () => {
    const spec = makeSpec(["python", "tinylib"]);
    const manager = makeManager(cache);
    const first = await manager.ensureEnv(spec);
    const marker = JSON.parse(await fs.readFile(markerPath(first.prefix), "utf8"));
    await fs.writeFile(markerPath(first.prefix), JSON.stringify({ ...marker, hash: "f".repeat(64) }));
    expect((await manager.ensureEnv(spec)).status).toBe("created");
  });
});
