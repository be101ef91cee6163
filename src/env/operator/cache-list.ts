/**
 * Reading the cache: every env under envs/ with a valid marker, its last use, size and whether a live
 * lease holds it. Markers are read in parallel with bounded concurrency so 1,000 envs list quickly.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import type { CacheEntry, CacheLockInfo } from "../types.js";
import { envLockPath, type CacheLayout } from "../cache/cache-layout.js";
import { readLockState } from "../cache/lock-state.js";
import { readLastUsed, readMarker, type EnvMarker } from "../cache/marker.js";
import { DEFAULT_LEASE_TIMING, hashesWithLeases, liveLeases, type LeaseJudge } from "../cache/lease.js";

export interface ListedEnv extends CacheEntry {
  marker: EnvMarker;
  lastUsedMs: number;
}

export interface ListOptions {
  concurrency?: number;
  leaseStaleMs?: number;
  /** This worker's host name and the clock skew allowed, for judging other hosts' leases. */
  judge?: LeaseJudge;
  lockStaleMs?: number;
}

/** Lists the valid envs of the cache (partial prefixes without a marker are not envs). */
export async function listCachedEnvs(layout: CacheLayout, options: ListOptions = {}): Promise<ListedEnv[]> {
  let names: string[];
  try {
    names = (await fs.readdir(layout.envsDir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return [];
  }
  const leased = await hashesWithLeases(layout);
  const staleMs = options.leaseStaleMs ?? DEFAULT_LEASE_TIMING.staleMs;
  const entries = await mapBounded(names, options.concurrency ?? 32, async (name) => {
    const prefix = path.join(layout.envsDir, name);
    const marker = await readMarker(prefix);
    if (!marker) return undefined;
    const lastUsed = await readLastUsed(prefix, marker);
    const leases = leased.has(marker.hash) ? await liveLeases(layout, marker.hash, staleMs, options.judge) : [];
    const lock = await lockInfo(envLockPath(layout, marker.hash), options);
    const entry: ListedEnv = {
      hash: marker.hash,
      prefix,
      dependencies: [...marker.spec.conda],
      pip: [...marker.spec.pip],
      channels: [...marker.spec.channels],
      createdAt: marker.createdAt,
      lastUsedAt: lastUsed.toISOString(),
      sizeBytes: marker.sizeBytes,
      inUse: leases.length > 0,
      leases: leases.map(({ holder, pid, hostname, heartbeatAt }) => ({ holder: String(holder), pid, hostname, heartbeatAt })),
      lock,
      marker,
      lastUsedMs: lastUsed.getTime(),
    };
    return entry;
  });
  return entries.filter((e): e is ListedEnv => e !== undefined).sort((a, b) => b.lastUsedMs - a.lastUsedMs);
}

async function lockInfo(lockPath: string, options: ListOptions): Promise<CacheLockInfo | null> {
  const state = await readLockState(lockPath, {
    ...(options.lockStaleMs !== undefined ? { staleMs: options.lockStaleMs } : {}),
    ...(options.judge?.maxClockSkewMs !== undefined ? { maxClockSkewMs: options.judge.maxClockSkewMs } : {}),
  });
  if (!state?.holder) return null;
  const { pid, hostname, since, state: doing } = state.holder;
  return { pid, hostname, since, ...(typeof doing === "string" ? { state: doing } : {}), updatedAt: state.updatedAt, stale: state.stale };
}

/** Strips the internal fields of a listed env. */
export function toCacheEntry(env: ListedEnv): CacheEntry {
  const { marker: _marker, lastUsedMs: _lastUsedMs, ...entry } = env;
  return entry;
}

/** Bytes under `dir` by a stat walk (lstat; symlinks not followed; hard links counted once). */
export async function directorySize(dir: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const walk = async (current: string): Promise<void> => {
    let entries;
    try {
      entries = await fs.readdir(current, { withFileTypes: true });
    } catch {
      return;
    }
    await Promise.all(
      entries.map(async (entry) => {
        const full = path.join(current, entry.name);
        if (entry.isDirectory()) return walk(full);
        try {
          const stat = await fs.lstat(full);
          const key = `${stat.dev}:${stat.ino}`;
          if (stat.nlink > 1 && seen.has(key)) return;
          seen.add(key);
          total += stat.size;
        } catch {
          // Vanished while walking.
        }
      }),
    );
  };
  await walk(dir);
  return total;
}

/** Maps `items` with at most `limit` calls in flight, keeping order. */
export async function mapBounded<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]!);
    }
  });
  await Promise.all(workers);
  return results;
}
