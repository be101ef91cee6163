/**
 * When a lock is stale, across hosts whose clocks disagree. A holder refreshes two heartbeats with its own
 * clock: its lock directory's mtime (proper-lockfile's `update`) and its holder record's `beat` /
 * `heartbeatAt` (lock-holder.ts; read fresh through a network filesystem's attribute cache). Comparing either
 * with another host's clock is off by the skew between the two. Two rules, so no takeover ever depends on a
 * pid or on clocks agreeing better than `maxClockSkewMs`:
 * - watched: a waiter that sees both heartbeats stand still for `staleMs` of its own monotonic clock takes
 *   the lock over. No clock is compared, so skew is harmless; this is how a dead host's create is taken over.
 * - one look: a caller that cannot watch (sweep, eviction, doctor, a waiter's first look) calls a lock stale
 *   only when both heartbeats are older than `staleMs + maxClockSkewMs` by the local clock. A live holder's
 *   heartbeats are at most one refresh (staleMs/4) old, so this stays right while clocks differ by less
 *   than maxClockSkewMs + 3/4 staleMs.
 */
import { promises as fs } from "node:fs";
import { performance } from "node:perf_hooks";
import type { LockHolder } from "./lock-holder.js";

/** The skew between hosts sharing a cache that the locks and leases tolerate (documented in env-cache.md). */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 30_000;

/** Heartbeat age, by the local clock, beyond which one look may call a lock stale. */
export function oneLookStaleMs(staleMs: number, maxClockSkewMs = DEFAULT_MAX_CLOCK_SKEW_MS): number {
  return Math.max(staleMs, 2000) + Math.max(maxClockSkewMs, 0);
}

/** How often a holder refreshes its heartbeats (proper-lockfile's floor is 1 s). */
export function refreshIntervalMs(staleMs: number): number {
  return Math.max(Math.floor(Math.max(staleMs, 2000) / 4), 1000);
}

export interface Heartbeat {
  /** The lock directory's mtime. */
  mtimeMs: number;
  /** The holder record's heartbeat, or undefined (no record, a torn one, or an older worker's). */
  holder: LockHolder | undefined;
}

/** Both heartbeats of the lock at `lockPath`, or undefined when there is no lock. */
export async function readHeartbeat(lockPath: string, readHolder: () => Promise<LockHolder | undefined>): Promise<Heartbeat | undefined> {
  let mtimeMs: number;
  try {
    mtimeMs = (await fs.stat(lockPath)).mtimeMs;
  } catch {
    return undefined;
  }
  return { mtimeMs, holder: await readHolder() };
}

/** True when one look, by the local clock, may call this heartbeat stale (see the module comment). */
export function isOneLookStale(beat: Heartbeat, now: number, staleMs: number, maxClockSkewMs = DEFAULT_MAX_CLOCK_SKEW_MS): boolean {
  const limit = oneLookStaleMs(staleMs, maxClockSkewMs);
  const recorded = typeof beat.holder?.heartbeatAt === "string" ? Date.parse(beat.holder.heartbeatAt) : Number.NaN;
  return now - beat.mtimeMs > limit && (!Number.isFinite(recorded) || now - recorded > limit);
}

/** What must stay the same for a heartbeat to count as standing still (a torn record counts as a move). */
function signatureOf(beat: Heartbeat): string {
  return `${beat.mtimeMs}|${beat.holder ? `${beat.holder.beat ?? ""}|${beat.holder.heartbeatAt ?? ""}` : "none"}`;
}

export interface HeartbeatWatch {
  /**
   * Looks at the heartbeats once more; when one look may call them stale, or they have not moved for
   * `staleMs` since this watch first saw them, removes the lock directory (if they are still the same)
   * and returns true.
   */
  takeOverIfStill(): Promise<boolean>;
}

/** Watches the heartbeats of the lock at `lockPath` across a waiter's attempts. */
export function watchHeartbeat(lockPath: string, staleMs: number, maxClockSkewMs: number | undefined, readHolder: () => Promise<LockHolder | undefined>): HeartbeatWatch {
  let seen: { signature: string; since: number } | undefined;
  return {
    async takeOverIfStill() {
      const beat = await readHeartbeat(lockPath, readHolder);
      if (!beat) {
        seen = undefined;
        return false;
      }
      const signature = signatureOf(beat);
      if (!isOneLookStale(beat, Date.now(), staleMs, maxClockSkewMs)) {
        if (!seen || seen.signature !== signature) {
          seen = { signature, since: performance.now() };
          return false;
        }
        if (performance.now() - seen.since < staleMs) return false;
      }
      seen = undefined;
      // Re-read right before removing: a holder that came back (or a new one) has moved a heartbeat.
      const again = await readHeartbeat(lockPath, readHolder);
      if (!again || signatureOf(again) !== signature) return false;
      try {
        await fs.rmdir(lockPath);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
      return true;
    },
  };
}
