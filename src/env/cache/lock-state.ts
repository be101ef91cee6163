/**
 * Reading locks for operators (`cache list`, `doctor`): every lock directory under locks/, who holds it
 * (the holder record: pid, host, since, state), when its heartbeat last moved and whether one look calls it
 * stale. Only reads; taking over is the lock's job.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { DEFAULT_LOCK_STALE_MS } from "./lock.js";
import { readLockHolder, type LockHolder } from "./lock-holder.js";
import { DEFAULT_MAX_CLOCK_SKEW_MS, isOneLookStale, readHeartbeat } from "./lock-staleness.js";

export interface LockState {
  /** The lock's name under locks/: an env hash, or `pkgs` for the package cache. */
  name: string;
  path: string;
  /** When the holder last refreshed the heartbeat (by the holder's clock). */
  updatedAt: string;
  ageSeconds: number;
  /** True when the heartbeat is older than staleMs + the clock skew allowed: its holder is gone. */
  stale: boolean;
  /** Who holds it, as the holder recorded (pid, hostname, since, what it is doing). */
  holder?: LockHolder;
}

export interface LockStateOptions {
  staleMs?: number;
  maxClockSkewMs?: number;
  now?: number;
}

/** The state of the lock at `lockPath`, or undefined when nobody holds it. */
export async function readLockState(lockPath: string, options: LockStateOptions = {}): Promise<LockState | undefined> {
  const now = options.now ?? Date.now();
  const beat = await readHeartbeat(lockPath, () => readLockHolder(lockPath));
  if (!beat) return undefined;
  // The later of the two heartbeats (directory mtime, record content), both by the holder's clock.
  const recorded = typeof beat.holder?.heartbeatAt === "string" ? Date.parse(beat.holder.heartbeatAt) : Number.NaN;
  const updated = Number.isFinite(recorded) ? Math.max(recorded, beat.mtimeMs) : beat.mtimeMs;
  return {
    name: path.basename(lockPath).replace(/\.lock$/, ""),
    path: lockPath,
    updatedAt: new Date(updated).toISOString(),
    ageSeconds: Math.round((now - updated) / 1000),
    stale: isOneLookStale(beat, now, options.staleMs ?? DEFAULT_LOCK_STALE_MS, options.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS),
    ...(beat.holder ? { holder: beat.holder } : {}),
  };
}

/** Every lock under `locksDir`, sorted by name. */
export async function listLockStates(locksDir: string, options: LockStateOptions = {}): Promise<LockState[]> {
  const names = await fs.readdir(locksDir).catch(() => [] as string[]);
  const states: LockState[] = [];
  for (const name of names.filter((n) => n.endsWith(".lock")).sort()) {
    const state = await readLockState(path.join(locksDir, name), options);
    if (state) states.push(state);
  }
  return states;
}

/** "pid 42 on host-a" (plus " (this host)" when it is ours), for messages and tables. */
export function describeHolderHost(holder: { pid: number; hostname: string } | undefined, thisHost: string): string {
  if (!holder) return "an unknown holder";
  return `pid ${holder.pid} on ${holder.hostname}${holder.hostname === thisHost ? " (this host)" : ""}`;
}
