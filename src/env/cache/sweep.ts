/**
 * Sweeps abandoned partial envs: prefixes without a valid marker left by a create whose process died (its
 * lock's holder record still names the prefix). Each is removed under its own per-hash lock, so a create
 * in progress (a live lock) is never touched; a prefix no holder record names is left alone.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import type { Logger } from "../../logger.js";
import type { CacheLayout } from "./cache-layout.js";
import { envLockPath } from "./cache-layout.js";
import { acquireLock, readLockHolder } from "./lock.js";
import { readMarker } from "./marker.js";

const HASH = /^[0-9a-f]{64}$/;

/** Full hashes of the lock records that name each prefix (records outlive a SIGKILLed holder). */
async function prefixesNamedByLocks(layout: CacheLayout): Promise<Map<string, string>> {
  const named = new Map<string, string>();
  const names = await fs.readdir(layout.locksDir).catch(() => [] as string[]);
  for (const name of names) {
    const hash = name.endsWith(".lock.json") ? name.slice(0, -".lock.json".length) : "";
    if (!HASH.test(hash)) continue;
    const holder = await readLockHolder(envLockPath(layout, hash));
    if (typeof holder?.prefix === "string") named.set(path.resolve(holder.prefix), hash);
  }
  return named;
}

export interface SweepOptions {
  staleMs: number;
  logger: Logger;
  /** Clock skew tolerated between hosts: a lock counts stale to one look only past staleMs + this. */
  maxClockSkewMs?: number;
  hostname?: string;
}

/** Removes abandoned partial prefixes; returns their paths. Never waits on a lock. */
export async function sweepAbandonedPrefixes(layout: CacheLayout, options: SweepOptions): Promise<string[]> {
  const entries = await fs.readdir(layout.envsDir, { withFileTypes: true }).catch(() => []);
  const named = await prefixesNamedByLocks(layout);
  const removed: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name.startsWith(".")) continue;
    const prefix = path.join(layout.envsDir, entry.name);
    const hash = named.get(path.resolve(prefix));
    if (!hash || (await readMarker(prefix))) continue;
    let lock;
    try {
      // A live holder (a create in progress) keeps its lock fresh: taking it fails at once and we move on.
      lock = await acquireLock(envLockPath(layout, hash), {
        label: `env ${hash.slice(0, 12)}`,
        staleMs: options.staleMs,
        waitTimeoutMs: 0,
        holderInfo: { prefix, state: "deleting" },
        ...(options.maxClockSkewMs !== undefined ? { maxClockSkewMs: options.maxClockSkewMs } : {}),
        ...(options.hostname !== undefined ? { hostname: options.hostname } : {}),
      });
    } catch {
      continue;
    }
    try {
      if (await readMarker(prefix)) continue;
      await fs.rm(prefix, { recursive: true, force: true });
      removed.push(prefix);
      options.logger.info(`removed the abandoned partial env at ${prefix}`);
    } finally {
      await lock.release();
    }
  }
  return removed;
}
