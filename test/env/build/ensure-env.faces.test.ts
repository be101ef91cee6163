/** ensureEnv per package-manager face (fake conda, mamba 2, mamba 1.x, micromamba; or the real tool). */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { promises as fs } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { readInvocationLog } from "../../support/fake-pm.js";
import { IS_REAL, makeManager, makeSpec, makeTestCache, TARGET, TEST_TOKEN, type TestCache } from "../support/env-fixtures.js";
import { catchError, createsIn as creates, expectNothingCached } from "../support/env-assertions.js";
import { hashEnvSpec } from "../../../src/env/spec/hash.js";
import type { ProgressEvent } from "../../../src/progress.js";

let cache: TestCache;
beforeEach(async () => {
  cache = await makeTestCache();
});
afterEach(async () => {
  await cache.cleanup();
});

const FAKE_FACES = [
  { face: "micromamba" as const, knobs: {}, args: (p: string, f: string, root: string) => ["create", "-p", p, "-f", f, "-y", "--json", "-r", root], pkgsVar: "CONDA_PKGS_DIRS" },
  { face: "mamba" as const, knobs: {}, args: (p: string, f: string, root: string) => ["create", "-p", p, "-f", f, "-y", "--json", "-r", root], pkgsVar: "CONDA_PKGS_DIRS" },
  { face: "mamba" as const, knobs: { mambaMajor: 1 as const }, args: (p: string, f: string) => ["env", "create", "-p", p, "-f", f, "--yes"], pkgsVar: "CONDA_PKGS_DIRS" },
  { face: "conda" as const, knobs: {}, args: (p: string, f: string) => ["env", "create", "-p", p, "-f", f, "--yes", "--json"], pkgsVar: "CONDA_PKGS_DIRS" },
  {
    face: "conda" as const,
    knobs: { version: "26.7.1" },
    args: (p: string, f: string) => ["create", "-p", p, "-f", f, "--override-channels", "-c", TARGET.channelUrl, "--yes", "--json"],
    pkgsVar: "CONDA_PKGS_DIRS",
  },
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
    await expectNothingCached(cache, hashEnvSpec(missingSpec));

    const conflict = makeSpec(["python", "tinyapp", "tinylib<2"]);
    const unsat = await catchError(manager.ensureEnv(conflict));
    expect(unsat.code).toBe("E_ENV_CREATE");
    expect(unsat.details).toMatchObject({ diagnosis: "unsatisfiable" });
    expect(unsat.message).toMatch(/tinylib/);
    await expectNothingCached(cache, hashEnvSpec(conflict));
  });

  it("surfaces pip's error and removes the half-built env", async () => {
    const spec = makeSpec(["python"], ["nosuchwheel"]);
    const error = await catchError(makeManager(cache, { face, knobs }).ensureEnv(spec));
    expect(error.code).toBe("E_ENV_CREATE");
    expect(error.details).toMatchObject({ diagnosis: "pip-failed" });
    expect(error.message).toContain("nosuchwheel");
    await expectNothingCached(cache, hashEnvSpec(spec));
  });
});

