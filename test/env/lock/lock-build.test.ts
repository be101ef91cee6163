/**
 * A lock solved by each face's dry run, then envs built from it: an explicit create that solves nothing
 * (the fake's solve log proves it), the same package set in a second cache, and the errors of a lock whose
 * package is gone from its channel (or the operator's fallback to the spec).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { promises as fs } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { FIXTURE_CHANNEL_DIR } from "../../support/fake-pm.js";
import { IS_REAL, makeManager, makeSpec, makeTestCache, TARGET, type ManagerSetup, type TestCache } from "../support/env-fixtures.js";
import { catchError, createsIn } from "../support/env-assertions.js";
import { hashEnvSpec } from "../../../src/env/spec/hash.js";
import { applyLock } from "../../../src/env/lock/apply-lock.js";
import type { ProgressEvent } from "../../../src/progress.js";

let cache: TestCache;
let second: TestCache;
beforeEach(async () => {
  cache = await makeTestCache("hcw-lock-");
  second = await makeTestCache("hcw-lock2-");
});
afterEach(async () => {
  await cache.cleanup();
  await second.cleanup();
});

const solves = async (file: string) => (await fs.readFile(file, "utf8").catch(() => "")).split("\n").filter(Boolean).length;
const records = async (prefix: string) => (await fs.readdir(path.join(prefix, "conda-meta"))).filter((n) => n.endsWith(".json") && !n.startsWith("hypha-conda-worker")).sort();

// The pip pins do not depend on the face (pip runs in the scratch env), so two faces cover them.
const FAKE_FACES: Array<ManagerSetup & { pip: boolean }> = [
  { face: "micromamba", pip: true },
  { face: "mamba", pip: false },
  { face: "mamba", knobs: { mambaMajor: 1 }, pip: false },
  { face: "conda", pip: true },
  { face: "conda", knobs: { version: "26.7.1" }, pip: false },
];
const FACES = IS_REAL ? [{ face: TARGET.name, pip: true }] : FAKE_FACES;

describe.each(FACES)("a lock with $face $knobs (pip: $pip)", ({ pip, ...setup }) => {
  const withLog = (c: TestCache): ManagerSetup => ({ ...setup, knobs: { ...setup.knobs, solveLog: path.join(c.dir, "solves.log") } });

  it("is solved by a dry run, and the env built from it solves nothing and matches on a second cache", async () => {
    const spec = makeSpec(["python", "tinyapp"], pip ? ["tinywheel"] : []);
    const locker = makeManager(cache, withLog(cache));
    const lock = await locker.lockSpec(spec);
    expect(lock.conda.map((p) => p.name).sort()).toEqual(["pip", "python", "tinyapp", "tinylib"]);
    for (const p of lock.conda) {
      expect(p.url.startsWith(`${TARGET.channelUrl}/`)).toBe(true);
      expect(p.md5 ?? p.sha256).toMatch(/^[0-9a-f]{32}([0-9a-f]{32})?$/);
    }
    expect(lock.conda.find((p) => p.name === "tinylib")?.version).toBe("2.0");
    expect(lock.pip).toEqual(pip ? [{ name: "tinywheel", version: "0.1" }] : []);
    expect(lock.specHash).toBe(hashEnvSpec(spec));
    // The solve created nothing in the cache.
    expect(await fs.readdir(path.join(cache.cacheDir, "envs")).catch(() => [])).toEqual([]);

    const locked = { ...spec, lock };
    const events: ProgressEvent[] = [];
    const solvedBefore = await solves(path.join(cache.dir, "solves.log"));
    const built = await makeManager(cache, withLog(cache)).ensureEnv(locked, { onProgress: (e) => events.push(e) });
    expect(built).toMatchObject({ status: "created", hash: hashEnvSpec(locked) });
    expect(built.hash).not.toBe(hashEnvSpec(spec));
    const imports = pip ? "import tinyapp, tinylib, tinywheel; print(tinylib.__version__, tinywheel.__version__)" : "import tinyapp, tinylib; print(tinylib.__version__)";
    const probe = await execa(built.pythonPath, ["-c", imports], { env: built.activation, extendEnv: false });
    expect(probe.stdout).toBe(pip ? "2.0 0.1" : "2.0");
    expect(events.some((e) => e.message.includes("from its lock"))).toBe(true);
    if (IS_REAL) return;
    expect(await solves(path.join(cache.dir, "solves.log"))).toBe(solvedBefore);
    const create = createsIn(cache.log).at(-1)!;
    expect(create.argv).toContain("--file");
    expect(create.argv).not.toContain("--dry-run");

    // Another host (its own cache) builds the identical package set from the same lock, again without a solve.
    const other = await makeManager(second, withLog(second)).ensureEnv(locked);
    expect(other.hash).toBe(built.hash);
    expect(await records(other.prefix)).toEqual(await records(built.prefix));
    expect(await solves(path.join(second.dir, "solves.log"))).toBe(0);
  }, 120_000);
});

it("a spec whose channels name nodefaults gets a lock that fits it", async () => {
  const spec = { ...makeSpec(["tinytool"]), channels: [TARGET.channelUrl, "nodefaults"] };
  const lock = await makeManager(cache).lockSpec(spec);
  expect(applyLock(spec, lock).lock).toEqual(lock);
});

describe.skipIf(IS_REAL)("a lock whose package is gone from its channel", () => {
  async function channelCopy(dir: string): Promise<string> {
    const copy = path.join(dir, "channel");
    await fs.cp(FIXTURE_CHANNEL_DIR, copy, { recursive: true });
    return copy;
  }
  async function dropPackage(channelDir: string, fn: string): Promise<void> {
    const file = path.join(channelDir, "noarch", "repodata.json");
    const repodata = JSON.parse(await fs.readFile(file, "utf8")) as { packages: Record<string, unknown> };
    delete repodata.packages[fn];
    await fs.writeFile(file, JSON.stringify(repodata));
  }

  it.each(["micromamba", "conda"] as const)("fails with E_ENV_LOCK_STALE naming the URL on %s, and creates nothing", async (face) => {
    const channel = await channelCopy(cache.dir);
    const url = `file://${channel}`;
    const spec = { ...makeSpec(["python", "tinylib"]), channels: [url] };
    const lock = await makeManager(cache, { face }).lockSpec(spec);
    await dropPackage(channel, "tinylib-2.0-py_0.tar.bz2");
    const error = await catchError(makeManager(second, { face }).ensureEnv({ ...spec, lock }));
    expect(error.code).toBe("E_ENV_LOCK_STALE");
    expect(error.message).toContain(`${url}/noarch/tinylib-2.0-py_0.tar.bz2`);
    expect(error.message).toMatch(/re-lock.*hypha-conda-worker lock/);
    expect(await fs.readdir(path.join(second.cacheDir, "envs")).catch(() => [])).toEqual([]);
  });

  it("builds from the spec instead under --lock-mismatch spec, and says so", async () => {
    const channel = await channelCopy(cache.dir);
    const spec = { ...makeSpec(["python", "tinylib"]), channels: [`file://${channel}`] };
    const lock = await makeManager(cache).lockSpec(spec);
    await dropPackage(channel, "tinylib-2.0-py_0.tar.bz2");
    const events: ProgressEvent[] = [];
    const built = await makeManager(second, { options: { lockMismatch: "spec" } }).ensureEnv({ ...spec, lock }, { onProgress: (e) => events.push(e) });
    expect(built.hash).toBe(hashEnvSpec(spec));
    const probe = await execa(built.pythonPath, ["-c", "import tinylib; print(tinylib.__version__)"], { env: built.activation, extendEnv: false });
    expect(probe.stdout).toBe("1.0");
    expect(events.find((e) => e.type === "warning")?.message).toMatch(/tinylib-2\.0-py_0\.tar\.bz2.*--lock-mismatch spec/);
  });
});
