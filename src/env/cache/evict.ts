/**
 * Eviction: least recently used first, beyond max envs / max total bytes / max age, never a leased env and
 * never one being created. Each deletion holds the env's lock, and hides the marker before deleting so no
 * new user can start on it; a lease taken in that window puts the marker back.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { EnvError } from "../../errors.js";
import type { Logger } from "../../logger.js";
import type { CacheEntry, EvictionLimits } from "../types.js";
import { envLockPath, leaseDirFor, type CacheLayout } from "./cache-layout.js";
import { acquireLock, DEFAULT_LOCK_STALE_MS } from "./lock.js";
import { DEFAULT_LEASE_TIMING, liveLeases, type LeaseJudge } from "./lease.js";
import { markerPath, readMarker } from "./marker.js";
import { listCachedEnvs, toCacheEntry, type ListedEnv } from "../operator/cache-list.js";

export interface EvictCandidate {
  hash: string;
  sizeBytes: number;
  lastUsedMs: number;
  inUse: boolean;
}

/** Picks what to evict, oldest use first; leased and excluded envs still count toward the limits. */
export function selectEvictions<T extends EvictCandidate>(entries: T[], limits: EvictionLimits, now: number, exclude: ReadonlySet<string> = new Set()): T[] {
  const byAge = [...entries].sort((a, b) => a.lastUsedMs - b.lastUsedMs);
  let count = byAge.length;
  let total = byAge.reduce((sum, e) => sum + e.sizeBytes, 0);
  const chosen: T[] = [];
  for (const entry of byAge) {
    if (entry.inUse || exclude.has(entry.hash)) continue;
    const tooOld = limits.maxAgeMs !== undefined && now - entry.lastUsedMs > limits.maxAgeMs;
    const tooMany = limits.maxEnvs !== undefined && count > limits.maxEnvs;
    const tooBig = limits.maxSizeBytes !== undefined && total > limits.maxSizeBytes;
    if (!tooOld && !tooMany && !tooBig) continue;
    chosen.push(entry);
    count -= 1;
    total -= entry.sizeBytes;
  }
  return chosen;
}

export interface EvictDeps {
  layout: CacheLayout;
  logger: Logger;
  lockStaleMs?: number;
  leaseStaleMs?: number;
  /** Clock skew tolerated between hosts sharing the cache (locks and other hosts' leases). */
  maxClockSkewMs?: number;
  /** This worker's host name (default: hostIdentity()). */
  hostname?: string;
}

function judgeOf(deps: EvictDeps): LeaseJudge {
  return { ...(deps.hostname !== undefined ? { hostname: deps.hostname } : {}), ...(deps.maxClockSkewMs !== undefined ? { maxClockSkewMs: deps.maxClockSkewMs } : {}) };
}

/** Evicts beyond `limits`; returns the envs removed. Envs locked or leased at deletion time are skipped. */
export async function evictEnvs(deps: EvictDeps, limits: EvictionLimits, exclude: ReadonlySet<string> = new Set()): Promise<CacheEntry[]> {
  if (limits.maxEnvs === undefined && limits.maxSizeBytes === undefined && limits.maxAgeMs === undefined) return [];
  const listed = await listCachedEnvs(deps.layout, { leaseStaleMs: deps.leaseStaleMs, judge: judgeOf(deps) });
  const removed: CacheEntry[] = [];
  const gone = new Set<string>();
  // An env that cannot go (locked by a create, leased meanwhile) is skipped and the plan redone, so the
  // next least recently used env takes its place.
  const skipped = new Set(exclude);
  const now = Date.now();
  for (;;) {
    const [next] = selectEvictions(listed.filter((e) => !gone.has(e.hash)), limits, now, skipped);
    if (!next) break;
    let deleted = false;
    try {
      deleted = await deleteEnv(deps, next, { force: false, waitMs: 0 });
    } catch (error) {
      deps.logger.warn(`eviction skipped ${next.prefix}: ${(error as Error).message}`);
    }
    if (deleted) {
      gone.add(next.hash);
      removed.push(toCacheEntry(next));
    } else skipped.add(next.hash);
  }
  return removed;
}

/**
 * Deletes one env under its lock. Returns false when it was skipped (locked by a create, or leased and not
 * forced); with `force` a lease does not stop it, and waiting on the lock is bounded by `waitMs`.
 */
export async function deleteEnv(deps: EvictDeps, env: ListedEnv, options: { force: boolean; waitMs: number }): Promise<boolean> {
  const { layout } = deps;
  const staleMs = deps.lockStaleMs ?? DEFAULT_LOCK_STALE_MS;
  const leaseStaleMs = deps.leaseStaleMs ?? DEFAULT_LEASE_TIMING.staleMs;
  let lock;
  try {
    lock = await acquireLock(envLockPath(layout, env.hash), {
      label: `env ${env.hash.slice(0, 12)}`,
      staleMs,
      waitTimeoutMs: options.waitMs,
      holderInfo: { prefix: env.prefix, state: "deleting" },
      ...judgeOf(deps),
    });
  } catch (error) {
    if (options.waitMs === 0) return false;
    throw error;
  }
  try {
    const marker = await readMarker(env.prefix);
    if (!marker || marker.hash !== env.hash) return false;
    if (!options.force && (await liveLeases(layout, env.hash, leaseStaleMs, judgeOf(deps))).length > 0) return false;
    const hidden = `${markerPath(env.prefix)}.evicting`;
    await fs.rename(markerPath(env.prefix), hidden);
    if (!options.force && (await liveLeases(layout, env.hash, leaseStaleMs, judgeOf(deps))).length > 0) {
      await fs.rename(hidden, markerPath(env.prefix));
      return false;
    }
    await fs.rm(env.prefix, { recursive: true, force: true });
    if (options.force) await fs.rm(leaseDirFor(layout, env.hash), { recursive: true, force: true });
    deps.logger.info(`removed env ${env.hash.slice(0, 12)} at ${env.prefix}`);
    return true;
  } finally {
    await lock.release();
  }
}

/** Finds the env named by a hash, a unique hash prefix (≥ 6 hex), or its prefix path. */
export async function resolveEnv(layout: CacheLayout, hashOrPrefix: string, listed: ListedEnv[]): Promise<ListedEnv> {
  if (typeof hashOrPrefix !== "string" || hashOrPrefix.length === 0 || /[\0-\x1f]/.test(hashOrPrefix)) {
    throw new EnvError("E_CACHE", `${JSON.stringify(hashOrPrefix)} is neither an env hash nor an env prefix; use a hash or prefix shown by 'cache list'`);
  }
  if (path.isAbsolute(hashOrPrefix)) {
    const wanted = path.resolve(hashOrPrefix);
    const relative = path.relative(layout.envsDir, wanted);
    if (relative === "" || relative.startsWith("..") || path.isAbsolute(relative) || relative.includes(path.sep)) {
      throw new EnvError("E_PATH_ESCAPE", `${hashOrPrefix} is not an env directory of this cache (${layout.envsDir}/<name>); use a prefix shown by 'cache list'`);
    }
    const match = listed.find((e) => e.prefix === wanted);
    if (!match) throw new EnvError("E_CACHE", `no cached env at ${hashOrPrefix}; run 'cache list' to see the cached envs`);
    return match;
  }
  const needle = hashOrPrefix.toLowerCase();
  if (!/^[0-9a-f]{6,64}$/.test(needle)) {
    throw new EnvError("E_CACHE", `${JSON.stringify(hashOrPrefix)} is not an env hash: give at least 6 hex digits of a hash, or an absolute prefix, from 'cache list'`);
  }
  const matches = listed.filter((e) => e.hash.startsWith(needle));
  if (matches.length === 0) throw new EnvError("E_CACHE", `no cached env has a hash starting with ${needle}; run 'cache list' to see the cached envs`);
  if (matches.length > 1) {
    throw new EnvError("E_CACHE", `${needle} matches ${matches.length} envs (${matches.map((m) => m.hash.slice(0, 16)).join(", ")}); give more hex digits`);
  }
  return matches[0]!;
}
