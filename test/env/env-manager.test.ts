import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { promises as fs } from "node:fs";
import path from "node:path";
import { createEnvManager } from "../../src/env/env-manager.js";
import { hasCode } from "../../src/errors.js";
import { hashEnvSpec } from "../../src/env/spec/hash.js";
import type { ProgressEvent } from "../../src/progress.js";
import { fakePmPath, readInvocationLog } from "../support/fake-pm.js";
import { itFakeOnly } from "../support/package-manager-target.js";
import { makeManager, makeOptions, makeSpec, makeTestCache, workerEnv, type TestCache } from "./support/env-fixtures.js";

let cache: TestCache;
beforeEach(async () => {
  cache = await makeTestCache();
});
afterEach(async () => {
  await cache.cleanup();
});

describe("createEnvManager", () => {
  it("validates its options", () => {
    const options = makeOptions(cache);
    expect(() => createEnvManager({ ...options, cacheDir: "relative/cache" })).toThrow(/absolute/);
    expect(() => createEnvManager({ ...options, createTimeoutMs: 0 })).toThrow(/positive/);
    expect(() => createEnvManager({ ...options, createTimeoutMs: -1 })).toThrow(/--env-timeout/);
    expect(() => createEnvManager({ ...options, cacheMaxEnvs: Number.NaN })).toThrow(/cacheMaxEnvs/);
  });

  it("with no package manager and no bootstrap: E_PACKAGE_MANAGER_NOT_FOUND naming what was searched and how to fix it", async () => {
    const manager = createEnvManager({ ...makeOptions(cache), packageManager: undefined }, { env: { PATH: path.join(cache.dir, "empty") } });
    const error = await manager.packageManager().catch((e: unknown) => e);
    expect(hasCode(error, "E_PACKAGE_MANAGER_NOT_FOUND")).toBe(true);
    const message = (error as Error).message;
    for (const needle of ["mamba on PATH", "micromamba on PATH", "conda on PATH", "$MAMBA_EXE", "$CONDA_EXE", "--package-manager", "HYPHA_CONDA_PACKAGE_MANAGER", "--no-bootstrap"]) {
      expect(message).toContain(needle);
    }
    await expect(fs.access(path.join(cache.cacheDir, "envs"))).rejects.toThrow();
  });

  itFakeOnly("bootstraps micromamba once when none is found, announcing it, then uses it", async () => {
    const calls: string[] = [];
    const events: ProgressEvent[] = [];
    const manager = createEnvManager(
      { ...makeOptions(cache), packageManager: undefined, bootstrap: true },
      {
        env: { ...workerEnv(cache), PATH: `/usr/bin:/bin:${path.dirname(process.execPath)}` },
        lockStaleMs: 2000,
        bootstrap: async ({ cacheDir }) => {
          calls.push(cacheDir);
          const file = path.join(cacheDir, "bin", "micromamba");
          await fs.mkdir(path.dirname(file), { recursive: true });
          await fs.symlink(fakePmPath("micromamba"), file);
          return file;
        },
      },
    );
    const result = await manager.ensureEnv(makeSpec(["python", "tinylib"]), { onProgress: (e) => events.push(e) });
    expect(result.packageManager).toMatchObject({ name: "micromamba", path: path.join(cache.cacheDir, "bin", "micromamba") });
    expect(events.some((e) => e.phase === "bootstrapping")).toBe(true);
    await manager.ensureEnv(makeSpec(["python", "tinytool"]));
    expect(calls).toEqual([cache.cacheDir]);
    // Detection is memoised: one --version probe for two creates.
    expect(readInvocationLog(cache.log).filter((i) => i.argv[0] === "--version")).toHaveLength(1);
  });

  it("runs eviction after a create with the options' limits, never evicting the env just built", async () => {
    const manager = makeManager(cache, { options: { cacheMaxEnvs: 1 } });
    const first = await manager.ensureEnv(makeSpec(["python", "tinylib"]));
    const second = await manager.ensureEnv(makeSpec(["python", "tinytool"]));
    expect((await manager.listEnvs()).map((e) => e.hash)).toEqual([second.hash]);
    await expect(fs.access(first.prefix)).rejects.toThrow();
    const tiny = makeManager(cache, { options: { cacheMaxSizeBytes: 1 } });
    const third = await tiny.ensureEnv(makeSpec(["python", "tinyactivate"]));
    expect((await tiny.listEnvs()).map((e) => e.hash)).toEqual([third.hash]);
  });

  it("a lease taken before ensureEnv keeps the env through gc", async () => {
    const manager = makeManager(cache);
    const spec = makeSpec(["python", "tinylib"]);
    const lease = await manager.acquireLease(hashEnvSpec(spec), "session-a");
    const env = await manager.ensureEnv(spec);
    expect(await manager.gc({ maxEnvs: 0 })).toEqual([]);
    expect((await manager.listEnvs())[0]).toMatchObject({ hash: env.hash, inUse: true });
    await lease.release();
    expect((await manager.gc({ maxEnvs: 0 })).map((e) => e.hash)).toEqual([env.hash]);
  });
});
