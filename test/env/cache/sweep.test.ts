import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cacheLayout, envLockPath, type CacheLayout } from "../../../src/env/cache/cache-layout.js";
import { acquireLock, isLocked, lockHolderPath } from "../../../src/env/cache/lock.js";
import { writeMarker } from "../../../src/env/cache/marker.js";
import { sweepAbandonedPrefixes } from "../../../src/env/cache/sweep.js";
import { silentLogger } from "../../../src/logger.js";

const STALE_MS = 2000;
let dir: string;
let layout: CacheLayout;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "hcw-sweep-"));
  layout = cacheLayout(dir);
  await fs.mkdir(layout.envsDir, { recursive: true });
  await fs.mkdir(layout.locksDir, { recursive: true });
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const hashOf = (c: string) => c.repeat(64);

/**
 * A partial prefix (no marker) plus what a SIGKILLed creator leaves: a lock and its holder record, dead
 * long enough (10 min) that one look calls it stale whatever the clock skew allowed.
 */
async function crashedCreate(hash: string, name: string): Promise<string> {
  const prefix = path.join(layout.envsDir, name);
  await fs.mkdir(path.join(prefix, "conda-meta"), { recursive: true });
  await fs.writeFile(path.join(prefix, "conda-meta", "history"), "==> partial <==\n");
  const lock = envLockPath(layout, hash);
  await fs.mkdir(lock);
  const old = new Date(Date.now() - 600_000);
  await fs.utimes(lock, old, old);
  await fs.writeFile(lockHolderPath(lock), JSON.stringify({ pid: 2 ** 22 + 12345, hostname: os.hostname(), since: old.toISOString(), hash, prefix, state: "creating" }));
  return prefix;
}

const exists = (p: string) => fs.access(p).then(() => true, () => false);

describe("sweepAbandonedPrefixes", () => {
  it("removes the partial prefix of a crashed create and releases its stale lock", async () => {
    const prefix = await crashedCreate(hashOf("a"), "env-aaaaaaaaaaaaaaaa");
    expect(await sweepAbandonedPrefixes(layout, { staleMs: STALE_MS, logger: silentLogger })).toEqual([prefix]);
    expect(await exists(prefix)).toBe(false);
    expect(await isLocked(envLockPath(layout, hashOf("a")))).toBe(false);
  });

  it("leaves a prefix whose create is in progress (live lock), and one no lock record names", async () => {
    const busy = await crashedCreate(hashOf("b"), "env-bbbbbbbbbbbbbbbb");
    await fs.rm(envLockPath(layout, hashOf("b")), { recursive: true });
    const live = await acquireLock(envLockPath(layout, hashOf("b")), { label: "b", staleMs: STALE_MS, waitTimeoutMs: 1000, holderInfo: { prefix: busy } });
    const unknown = path.join(layout.envsDir, "env-cccccccccccccccc");
    await fs.mkdir(unknown);
    try {
      expect(await sweepAbandonedPrefixes(layout, { staleMs: STALE_MS, logger: silentLogger })).toEqual([]);
      expect(await exists(busy)).toBe(true);
      expect(await exists(unknown)).toBe(true);
    } finally {
      await live.release();
    }
  });

  it("never removes a complete env, even if an old lock record names it", async () => {
    const hash = hashOf("d");
    const prefix = await crashedCreate(hash, "env-dddddddddddddddd");
    await writeMarker({
      format: 1, hash, prefix, createdAt: new Date().toISOString(), activation: {}, sizeBytes: 0,
      spec: { schema: 1, channels: [], conda: [], pip: [], variables: {}, subdir: "linux-64" },
      packageManager: { name: "micromamba", version: "1.5.12", path: "/usr/bin/micromamba" },
    });
    expect(await sweepAbandonedPrefixes(layout, { staleMs: STALE_MS, logger: silentLogger })).toEqual([]);
    expect(await exists(prefix)).toBe(true);
  });
});
