import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { selectEvictions } from "../../../src/env/cache/evict.js";
import { createEnvManager } from "../../../src/env/env-manager.js";
import { cacheLayout, envLockPath } from "../../../src/env/cache/cache-layout.js";
import { acquireLock } from "../../../src/env/cache/lock.js";
import type { EnvManager } from "../../../src/env/types.js";
import { hasCode } from "../../../src/errors.js";
import { handBuildEnv } from "../support/hand-built-env.js";

const HOUR = 3_600_000;
let dir: string;
let manager: EnvManager;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "hcw-evict-"));
  manager = createEnvManager(
    { cacheDir: dir, bootstrap: false, channelMap: {}, defaultChannels: [], allowPipOptions: false, createTimeoutMs: 60_000 },
    { env: { PATH: "/nonexistent" }, lockStaleMs: 2000 },
  );
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe("selectEvictions", () => {
  const env = (hash: string, ageH: number, size = 10, inUse = false) => ({ hash, sizeBytes: size, lastUsedMs: 100 * HOUR - ageH * HOUR, inUse });
  const now = 100 * HOUR;
  it("removes least recently used first down to maxEnvs, counting leased envs", () => {
    const all = [env("a", 1), env("b", 5), env("c", 3, 10, true), env("d", 4)];
    expect(selectEvictions(all, { maxEnvs: 2 }, now).map((e) => e.hash)).toEqual(["b", "d"]);
    expect(selectEvictions(all, { maxEnvs: 1 }, now).map((e) => e.hash)).toEqual(["b", "d", "a"]);
  });
  it("honours max size and max age and never picks excluded or leased envs", () => {
    const all = [env("a", 1, 100), env("b", 5, 100), env("c", 3, 100)];
    expect(selectEvictions(all, { maxSizeBytes: 150 }, now).map((e) => e.hash)).toEqual(["b", "c"]);
    expect(selectEvictions(all, { maxAgeMs: 2 * HOUR }, now).map((e) => e.hash)).toEqual(["b", "c"]);
    expect(selectEvictions(all, { maxAgeMs: 2 * HOUR }, now, new Set(["b"])).map((e) => e.hash)).toEqual(["c"]);
    expect(selectEvictions([env("x", 9, 10, true)], { maxEnvs: 0 }, now)).toEqual([]);
    expect(selectEvictions(all, {}, now)).toEqual([]);
  });
});

describe("gc / removeEnv / listEnvs", () => {
  it("gc evicts LRU unleased envs and skips a leased one", async () => {
    const oldest = await handBuildEnv(dir, "tinya", { lastUsedAgoMs: 5 * HOUR });
    const leased = await handBuildEnv(dir, "tinyb", { lastUsedAgoMs: 4 * HOUR });
    const middle = await handBuildEnv(dir, "tinyc", { lastUsedAgoMs: 3 * HOUR });
    const newest = await handBuildEnv(dir, "tinyd", { lastUsedAgoMs: 1 * HOUR });
    const lease = await manager.acquireLease(leased.hash, "session-1");
    const removed = await manager.gc({ maxEnvs: 2 });
    expect(removed.map((e) => e.hash)).toEqual([oldest.hash, middle.hash]);
    await expect(fs.access(oldest.prefix)).rejects.toThrow();
    const left = await manager.listEnvs();
    expect(left.map((e) => e.hash).sort()).toEqual([leased.hash, newest.hash].sort());
    expect(left.find((e) => e.hash === leased.hash)?.inUse).toBe(true);
    await lease.release();
    expect((await manager.gc({ maxEnvs: 1 })).map((e) => e.hash)).toEqual([leased.hash]);
  });

  it("gc by size and age; an env being created (locked) is skipped", async () => {
    const a = await handBuildEnv(dir, "tinya", { sizeBytes: 600, lastUsedAgoMs: 3 * HOUR });
    const b = await handBuildEnv(dir, "tinyb", { sizeBytes: 600, lastUsedAgoMs: 2 * HOUR });
    const held = await acquireLock(envLockPath(cacheLayout(dir), a.hash), { label: "a", staleMs: 2000, waitTimeoutMs: 1000 });
    expect(await manager.gc({ maxSizeBytes: 700 })).toEqual([expect.objectContaining({ hash: b.hash })]);
    await held.release();
    expect((await manager.gc({ maxAgeMs: HOUR })).map((e) => e.hash)).toEqual([a.hash]);
    expect(await manager.listEnvs()).toEqual([]);
  });

  it("lists entries with the contract's fields, ignoring partial prefixes", async () => {
    const a = await handBuildEnv(dir, "tinya", { sizeBytes: 1234, lastUsedAgoMs: HOUR });
    await fs.mkdir(path.join(cacheLayout(dir).envsDir, "partial-0123456789abcdef", "conda-meta"), { recursive: true });
    const [entry, ...rest] = await manager.listEnvs();
    expect(rest).toEqual([]);
    expect(entry).toEqual({
      hash: a.hash,
      prefix: a.prefix,
      dependencies: ["python", "tinya"],
      pip: [],
      channels: [expect.stringMatching(/^file:\/\//)],
      createdAt: expect.any(String),
      lastUsedAt: expect.any(String),
      sizeBytes: 1234,
      inUse: false,
      leases: [],
      lock: null,
    });
    expect(Date.now() - Date.parse(entry!.lastUsedAt)).toBeGreaterThan(HOUR - 60_000);
  });

  it("removeEnv refuses a leased env unless forced, and resolves hash prefixes and paths", async () => {
    const a = await handBuildEnv(dir, "tinya");
    const b = await handBuildEnv(dir, "tinyb");
    const lease = await manager.acquireLease(a.hash, "s");
    await expect(manager.removeEnv(a.hash.slice(0, 10))).rejects.toSatisfy((e) => hasCode(e, "E_ENV_IN_USE") && /--force/.test((e as Error).message));
    expect((await manager.removeEnv(a.hash.slice(0, 10), { force: true })).hash).toBe(a.hash);
    await lease.release();
    expect((await manager.removeEnv(b.prefix)).hash).toBe(b.hash);
    expect(await manager.listEnvs()).toEqual([]);
    await expect(manager.removeEnv("abc")).rejects.toSatisfy((e) => hasCode(e, "E_CACHE"));
    await expect(manager.removeEnv("0123456789")).rejects.toSatisfy((e) => hasCode(e, "E_CACHE"));
    await expect(manager.removeEnv("/etc")).rejects.toSatisfy((e) => hasCode(e, "E_PATH_ESCAPE"));
    await expect(manager.removeEnv(path.join(cacheLayout(dir).envsDir, ".."))).rejects.toSatisfy((e) => hasCode(e, "E_PATH_ESCAPE"));
  });

  it("lists 1,000 envs", async () => {
    const layout = cacheLayout(dir);
    const base = await handBuildEnv(dir, "tinyz");
    const text = await fs.readFile(path.join(base.prefix, "conda-meta", "hypha-conda-worker.json"), "utf8");
    await fs.rm(base.prefix, { recursive: true });
    // Copies of one marker under 1,000 names (hash and prefix adjusted so each is valid).
    await Promise.all(
      Array.from({ length: 1000 }, async (_, i) => {
        const hash = i.toString(16).padStart(4, "0") + "a".repeat(60);
        const prefix = path.join(layout.envsDir, `env-${hash.slice(0, 16)}`);
        await fs.mkdir(path.join(prefix, "conda-meta"), { recursive: true });
        await fs.writeFile(path.join(prefix, "conda-meta", "hypha-conda-worker.json"), text.replace(base.hash, hash).split(base.prefix).join(prefix));
      }),
    );
    const listed = await manager.listEnvs();
    expect(listed).toHaveLength(1000);
    expect(new Set(listed.map((e) => e.hash)).size).toBe(1000);
  });
});
