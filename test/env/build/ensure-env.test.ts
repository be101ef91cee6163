import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { promises as fs } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { fakePmPath, readInvocationLog } from "../../support/fake-pm.js";
import { describeFakeOnly } from "../../support/package-manager-target.js";
import { IS_REAL, makeManager, makeSpec, makeTestCache, type TestCache } from "../support/env-fixtures.js";
import { catchError, createsIn, expectNothingCached } from "../support/env-assertions.js";
import { markerPath, readMarker } from "../../../src/env/cache/marker.js";
import { hashEnvSpec } from "../../../src/env/spec/hash.js";

let cache: TestCache;
beforeEach(async () => {
  cache = await makeTestCache();
});
afterEach(async () => {
  await cache.cleanup();
});

const creates = createsIn;

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
    await expectNothingCached(cache, hashEnvSpec(spec));
    const next = await makeManager(cache).ensureEnv(spec);
    expect(next.status).toBe("created");
  });

  it("a tool killed mid-create leaves nothing; the next ensure rebuilds", async () => {
    const spec = makeSpec(["python", "tinylib", "tinytool"]);
    const error = await catchError(makeManager(cache, { knobs: { crashAfterPackages: 2 } }).ensureEnv(spec));
    expect(error.code).toBe("E_ENV_CREATE");
    await expectNothingCached(cache, hashEnvSpec(spec));
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
    await expectNothingCached(cache, hashEnvSpec(spec));
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

  // Without the package-cache lock these corrupt each other: fake-pm-knobs.test.ts shows the same three creates failing when run bare.
  it.each([{ face: "micromamba" as const, knobs: {} }, { face: "conda" as const, knobs: { version: "26.7.1" } }])("3 different specs at once on a cold shared package cache all succeed with $face $knobs (creates serialized)", async ({ face, knobs }) => {
    const manager = makeManager(cache, { ...(IS_REAL ? {} : { face }), knobs: { ...knobs, corruptColdCache: true, extractDelayMs: 300 } });
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
