import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { cp, readdir, rm } from "node:fs/promises";
import { PassThrough } from "node:stream";
import { join, relative } from "node:path";
import { main } from "../../src/cli/main.js";
import { UsageError } from "../../src/errors.js";
import { prewarmEnvs } from "../../src/env/operator/prewarm.js";
import type { CacheEntry } from "../../src/env/types.js";
import { cacheLayout, envLockPath } from "../../src/env/cache/cache-layout.js";
import { acquireLease } from "../../src/env/cache/lease.js";
import { acquireLock } from "../../src/env/cache/lock.js";
import { app, envFile, makeSandbox, type Sandbox } from "./operator-sandbox.js";

// Two envs are built once; every test starts from a copy of that cache at the same path (envs are not
// relocatable, so the copy goes back exactly where it was built).
let box: Sandbox;
let other: Sandbox | undefined;
let built: [string, string];
let snapshot: string;
const copyTree = (from: string, to: string) => cp(from, to, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });

beforeAll(async () => {
  box = await makeSandbox();
  const results = await prewarmEnvs([app("tiny"), envFile()], box.manager(), { concurrency: 1, specOptions: box.options });
  expect(results.map((r) => r.status)).toEqual(["created", "created"]);
  built = [results[0]!.hash!, results[1]!.hash!];
  snapshot = join(box.dir, "snapshot");
  await copyTree(box.cacheDir, snapshot);
});
afterAll(async () => {
  await box.cleanup();
});
beforeEach(async () => {
  await rm(box.cacheDir, { recursive: true, force: true });
  await copyTree(snapshot, box.cacheDir);
});
afterEach(async () => {
  await other?.cleanup();
  other = undefined;
});

/** The two cached envs' hashes: tiny (tinylib >=2) and lib1 (tinylib 1.0). */
const buildTwo = async (): Promise<[string, string]> => built;

/** What is cached, read through the library (no CLI spawn needed to check a CLI action's effect). */
const cachedHashes = async () => (await box.manager().listEnvs()).map((e) => e.hash);

const listJson = async (b: Sandbox) => {
  const r = await b.cli(["cache", "list", "--json"]);
  expect(r.exitCode).toBe(0);
  return JSON.parse(r.stdout) as CacheEntry[];
};

describe("hypha-conda-worker cache (built CLI)", () => {
  it("list: a JSON array of CacheEntry, and a readable table", async () => {
    const [tiny, lib1] = await buildTwo();
    const entries = await listJson(box);
    expect(entries.map((e) => e.hash).sort()).toEqual([tiny, lib1].sort());
    for (const e of entries) {
      expect(Object.keys(e).sort()).toEqual(["channels", "createdAt", "dependencies", "hash", "inUse", "lastUsedAt", "leases", "lock", "pip", "prefix", "sizeBytes"]);
      expect(e.sizeBytes).toBeGreaterThan(0);
      expect(e.inUse).toBe(false);
    }
    const table = await box.cli(["cache", "list"]);
    expect(table.stdout.split("\n")[0]).toMatch(/^HASH\s+SIZE\s+LAST USED\s+IN USE\s+DEPENDENCIES$/);
    expect(table.stdout).toContain(tiny.slice(0, 12));
    expect(table.stdout).toContain("tinylib >=2");
    expect(table.stdout).toContain("2 env(s)");
  });

  it("list: which host holds each lease (table and JSON) and each lock (table)", async () => {
    const [tiny, lib1] = await buildTwo();
    const layout = cacheLayout(box.cacheDir);
    const onA = await acquireLease(layout, tiny, "session-a1", undefined, "gpu-a");
    const onA2 = await acquireLease(layout, tiny, "session-a2", undefined, "gpu-a");
    const onB = await acquireLease(layout, tiny, "session-b1", undefined, "gpu-b");
    const creating = await acquireLock(envLockPath(layout, "ab".repeat(32)), { label: "t", staleMs: 10_000, waitTimeoutMs: 1000, hostname: "gpu-c", holderInfo: { state: "creating" } });
    const deleting = await acquireLock(envLockPath(layout, lib1), { label: "t", staleMs: 10_000, waitTimeoutMs: 1000, hostname: "gpu-b", holderInfo: { state: "deleting" } });
    try {
      const entries = await listJson(box);
      const leased = entries.find((e) => e.hash === tiny)!;
      expect(leased.inUse).toBe(true);
      expect(leased.leases.map((l) => `${l.holder}@${l.hostname}`).sort()).toEqual(["session-a1@gpu-a", "session-a2@gpu-a", "session-b1@gpu-b"]);
      expect(leased.lock).toBeNull();
      expect(entries.find((e) => e.hash === lib1)!.lock).toMatchObject({ hostname: "gpu-b", pid: process.pid, state: "deleting", stale: false });
      const table = (await box.cli(["cache", "list"])).stdout;
      expect(table).toMatch(new RegExp(`${tiny.slice(0, 12)} .* yes \\(gpu-a ×2, gpu-b\\)`));
      expect(table).toMatch(/\nLocks:\n {2}\S/);
      expect(table).toContain(`  ${"ab".repeat(6)}  creating by pid ${process.pid} on gpu-c, heartbeat`);
      expect(table).toContain(`  ${lib1.slice(0, 12)}  deleting by pid ${process.pid} on gpu-b`);
    } finally {
      for (const held of [onA, onA2, onB, creating, deleting]) await held.release();
    }
  });

  it("remove: refuses an env in use unless --force", async () => {
    const [tiny] = await buildTwo();
    const lease = await box.manager().acquireLease(tiny, "running-session");
    try {
      const refused = await box.cli(["cache", "remove", tiny.slice(0, 10)]);
      expect(refused.exitCode).toBe(1);
      expect(refused.stderr).toContain("E_ENV_IN_USE");
      expect((await box.manager().listEnvs()).find((e) => e.hash === tiny)?.inUse).toBe(true);
      const forced = await box.cli(["cache", "remove", tiny.slice(0, 10), "--force", "--json"]);
      expect(forced.exitCode).toBe(0);
      expect(JSON.parse(forced.stdout)).toMatchObject({ hash: tiny });
    } finally {
      await lease.release();
    }
    expect(await cachedHashes()).not.toContain(tiny);
  });

  it("remove: takes the env's prefix path too (relative paths from the current directory)", async () => {
    const [, lib1] = await buildTwo();
    const prefix = (await box.manager().listEnvs()).find((e) => e.hash === lib1)!.prefix;
    const r = await box.cli(["cache", "remove", relative(process.cwd(), prefix)]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`removed ${lib1.slice(0, 12)}`);
    const outside = await box.cli(["cache", "remove", box.dir]);
    expect(outside.exitCode).toBe(1);
    expect(outside.stderr).toContain("not an env directory of this cache");
  });

  it("gc: evicts beyond the limits, never a leased env, and prints what it removed", async () => {
    const [tiny, lib1] = await buildTwo();
    const lease = await box.manager().acquireLease(tiny, "running-session");
    try {
      const r = await box.cli(["cache", "gc", "--max-envs", "0", "--json"]);
      expect(r.exitCode).toBe(0);
      expect((JSON.parse(r.stdout) as CacheEntry[]).map((e) => e.hash)).toEqual([lib1]);
    } finally {
      await lease.release();
    }
    expect(await cachedHashes()).toEqual([tiny]);
    const human = await box.cli(["cache", "gc", "--max-envs", "0"]);
    expect(human.stdout).toContain(`removed ${tiny.slice(0, 12)}`);
    expect(human.stdout).toContain("1 env(s) removed");
    const bad = await box.cli(["cache", "gc", "--max-size", "lots"]);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain("--max-size");
  });

  it("export → remove → import round trip; import refuses another cache path", async () => {
    const [tiny] = await buildTwo();
    const file = join(box.dir, "tiny.tar.gz");
    const exported = await box.cli(["cache", "export", tiny.slice(0, 12), "-o", file]);
    expect(exported.exitCode).toBe(0);
    expect(exported.stdout).toContain(`exported ${tiny.slice(0, 12)}`);
    if (box.isFake) expect(exported.stderr).toContain("--allow-external-links");

    expect((await box.cli(["cache", "remove", tiny])).exitCode).toBe(0);
    const imported = await box.cli(["cache", "import", file, "--allow-external-links", "--json"]);
    expect(imported.exitCode).toBe(0);
    expect(JSON.parse(imported.stdout)).toMatchObject({ hash: tiny, replaced: false });
    expect(await cachedHashes()).toContain(tiny);

    const again = await box.cli(["cache", "import", file, "--allow-external-links"]);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain("already exists");

    other = await makeSandbox("elsewhere");
    const moved = await other.cli(["cache", "import", file, "--allow-external-links"]);
    expect(moved.exitCode).toBe(1);
    expect(moved.stderr).toContain("not relocatable");
    expect(moved.stderr).toContain(`--cache-dir ${box.cacheDir}`);
    await expect(readdir(join(other.cacheDir, "envs"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("usage errors (the CLI maps them to exit 2): no or unknown subcommand, wrong arity, a flag that does not apply", async () => {
    const ctx = { env: box.env, stdout: new PassThrough(), stderr: new PassThrough(), isTTY: false };
    for (const args of [["cache"], ["cache", "frob"], ["cache", "remove"], ["cache", "list", "--force"], ["cache", "export", "abcdef"], ["cache", "list", "extra"]]) {
      await expect(main([...args, ...box.flags], ctx), args.join(" ")).rejects.toBeInstanceOf(UsageError);
    }
    const r = await box.cli(["cache", "frob"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("unknown subcommand");
  });
});
