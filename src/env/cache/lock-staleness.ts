/**
 * When a lock is stale, across hosts whose clocks disagree. A holder refreshes its lock directory's mtime
 * (the heartbeat) with its own clock; comparing that mtime with another host's clock is off by the skew
 * between the two. Two rules, so no takeover ever depends on a pid or on clocks agreeing better than
 * `maxClockSkewMs`:
 * - watched: a waiter that sees the heartbeat stand still for `staleMs` of its own monotonic clock takes the
 *   lock over. No clock is compared, so any skew is harmless; this is how a dead host's create is taken over.
 * - one look: a caller that cannot watch (sweep, eviction, doctor, a waiter's first look) calls a lock stale
 *   only when its heartbeat is older than `staleMs + maxClockSkewMs` by the local clock. A live holder's
 *   heartbeat is at most one refresh (staleMs/4) old, so this stays right while clocks differ by less than
 *   maxClockSkewMs + 3/4 staleMs.
 */
import { promises as fs } from "node:fs";
import { performance } from "node:perf_hooks";

/** The skew between hosts sharing a cache that the locks and leases tolerate (documented in env-cache.md). */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 30_000;

/** Heartbeat age, by the local clock, beyond which one look may call a lock stale. */
export function oneLookStaleMs(staleMs: number, maxClockSkewMs = DEFAULT_MAX_CLOCK_SKEW_MS): number {
  return Math.max(staleMs, 2000) + Math.max(maxClockSkewMs, 0);
}

/** The lock directory's mtime in ms, or undefined when there is no lock. */
export async function heartbeatOf(lockPath: string): Promise<number | undefined> {
  try {
    return (await fs.stat(lockPath)).mtimeMs;
  } catch {
    return undefined;
  }
}

export interface HeartbeatWatch {
  /**
   * Looks at the heartbeat once more; when it has not moved for `staleMs` since this watch first saw that
   * value, removes the lock directory (if it still carries that heartbeat) and returns true.
   */
  takeOverIfStill(): Promise<boolean>;
}

/** Watches the heartbeat of the lock at `lockPath` across a waiter's attempts. */
export function watchHeartbeat(lockPath: string, staleMs: number): HeartbeatWatch {
  let seen: { mtimeMs: number; since: number } | undefined;
  return {
    async takeOverIfStill() {
      const mtimeMs = await heartbeatOf(lockPath);
      if (mtimeMs === undefined) {
        seen = undefined;
        return false;
      }
      if (!seen || seen.mtimeMs !== mtimeMs) {
        seen = { mtimeMs, since: performance.now() };
        return false;
      }
      if (performance.now() - seen.since < staleMs) return false;
      seen = undefined;
      // Re-read right before removing: a holder that came back (or a new one) has moved the heartbeat.
      if ((await heartbeatOf(lockPath)) !== mtimeMs) return false;
      try {
        await fs.rmdir(lockPath);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
      return true;
    },
  };
}
