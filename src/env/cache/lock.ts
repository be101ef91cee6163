/**
 * Cross-process (and cross-host, over a shared filesystem) locks on proper-lockfile. proper-lockfile's
 * defaults do not fit here: it resolves the realpath of a file that need not exist, retries never, and
 * throws from a timer when a lock is compromised. This wrapper locks a path that needs no file
 * (`realpath: false`), keeps the lock fresh with an `update` heartbeat so a dead holder's lock (on this or
 * another host) goes stale and is taken over by heartbeat age alone (lock-staleness.ts), waits with capped
 * exponential backoff (reporting while blocked), honours an AbortSignal, and turns a compromised lock into
 * an aborted signal the holder can act on.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import type lockfileModule from "proper-lockfile";
import { EnvError } from "../../errors.js";
import { isPidAlive } from "../../pid.js";
import { hostIdentity } from "./host.js";
import { lockHolderPath, readLockHolder, writeLockHolder, type LockHolder } from "./lock-holder.js";
import { DEFAULT_MAX_CLOCK_SKEW_MS, isOneLookStale, readHeartbeat, refreshIntervalMs, watchHeartbeat } from "./lock-staleness.js";

export { lockHolderPath, readLockHolder, type LockHolder } from "./lock-holder.js";

// Loaded on first use: proper-lockfile (with graceful-fs) costs ~15 ms at start-up, and a cache hit takes no lock.
let lockfileLoaded: Promise<typeof lockfileModule> | undefined;
function loadLockfile(): Promise<typeof lockfileModule> {
  lockfileLoaded ??= import("proper-lockfile").then((m) => m.default);
  return lockfileLoaded;
}

/** proper-lockfile never judges staleness itself (it would compare an mtime with this host's clock alone). */
const NEVER_STALE_MS = 100 * 365 * 86_400_000;

export interface LockTiming {
  /** A lock whose heartbeat stood still this long is stale and may be taken over (minimum 2000). */
  staleMs: number;
  /** Clock skew tolerated between hosts sharing the cache (see lock-staleness.ts); default 30 s. */
  maxClockSkewMs?: number;
  /** Give up waiting after this long. */
  waitTimeoutMs: number;
  /** Longest pause between attempts. */
  maxBackoffMs?: number;
  /** How often to report "still waiting". */
  reportEveryMs?: number;
}

export interface AcquireLockOptions extends LockTiming {
  /** What is locked, for messages ("env 1a2b3c…", "the package cache"). */
  label: string;
  signal?: AbortSignal;
  /** Called while blocked, with whole seconds waited and who holds the lock (when known). */
  onWaiting?: (secondsWaited: number, holder: LockHolder | undefined) => void;
  /** Called (never throws) when the lock was lost while held. */
  onCompromised?: (error: Error) => void;
  /** Extra facts written into the holder record (e.g. the prefix being created). */
  holderInfo?: Record<string, string>;
  /** This worker's host name in the holder record (default: hostIdentity()). */
  hostname?: string;
}


export interface HeldLock {
  /** Aborted when the lock is compromised (its heartbeat failed or another process took it over). */
  readonly lost: AbortSignal;
  /** Adds facts to the holder record, e.g. `childPgid` once the package manager runs. */
  updateHolder(info: Record<string, string | number>): Promise<void>;
  release(): Promise<void>;
}

export const DEFAULT_LOCK_STALE_MS = 10_000;


/** Acquires the lock at `lockPath` (a directory proper-lockfile creates), waiting with backoff. */
export async function acquireLock(lockPath: string, options: AcquireLockOptions): Promise<HeldLock> {
  return (await acquireLockUnless(lockPath, options, async () => false))!;
}

/**
 * Like acquireLock, but between attempts asks `done()`; when it says the work the lock guards is already
 * done (another holder finished it), stops waiting and returns undefined without ever taking the lock.
 */
export async function acquireLockUnless(lockPath: string, options: AcquireLockOptions, done: () => Promise<boolean>): Promise<HeldLock | undefined> {
  await fs.mkdir(path.dirname(lockPath), { recursive: true });
  const started = Date.now();
  const hostname = options.hostname ?? hostIdentity();
  const staleMs = Math.max(options.staleMs, 2000);
  const heartbeat = watchHeartbeat(lockPath, staleMs, options.maxClockSkewMs, () => readLockHolder(lockPath));
  const maxBackoff = options.maxBackoffMs ?? 1000;
  const reportEvery = options.reportEveryMs ?? 5000;
  let backoff = 25;
  let lastReport = started;
  for (;;) {
    throwIfAborted(options.signal, options.label);
    const lost = new AbortController();
    try {
      const lockfile = await loadLockfile();
      const release = await lockfile.lock(lockPath, {
        lockfilePath: lockPath,
        realpath: false,
        stale: NEVER_STALE_MS,
        update: refreshIntervalMs(staleMs),
        retries: 0,
        onCompromised: (error: Error) => {
          lost.abort(error);
          try {
            options.onCompromised?.(error);
          } catch {
            // A timer callback must never throw.
          }
        },
      });
      await reapOrphanOfDeadHolder(lockPath, hostname);
      return holdLock(lockPath, release, lost.signal, { ...options.holderInfo, hostname, since: new Date().toISOString() }, refreshIntervalMs(staleMs));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ELOCKED") {
        throw new EnvError("E_LOCK", `could not take the lock for ${options.label} at ${lockPath}: ${(error as Error).message}; check that the cache directory is writable`, { cause: error });
      }
    }
    // A heartbeat seen standing still for staleMs (by our own clock, whatever the holder's says): take over.
    if (await heartbeat.takeOverIfStill()) continue;
    const waited = Date.now() - started;
    if (waited >= options.waitTimeoutMs) {
      const holder = await readLockHolder(lockPath);
      throw new EnvError(
        "E_LOCK",
        `gave up after ${Math.round(waited / 1000)} s waiting for the lock on ${options.label}${describeHolder(holder)}; ` +
          `if that process is gone the lock is taken over once its heartbeat has stood still for ${Math.round(staleMs / 1000)} s, otherwise raise the create timeout`,
        { details: { lockPath, holder } },
      );
    }
    if (Date.now() - lastReport >= reportEvery) {
      lastReport = Date.now();
      options.onWaiting?.(Math.round(waited / 1000), await readLockHolder(lockPath));
    }
    // Jitter: waiters started together must not retry in lockstep (only one of them wins each round).
    await sleep(Math.min(backoff * (0.5 + Math.random()), options.waitTimeoutMs - waited), options.signal);
    backoff = Math.min(backoff * 2, maxBackoff);
    if (await done()) return undefined;
  }
}

/** Runs `fn` while holding the lock; always releases. */
export async function withLock<T>(lockPath: string, options: AcquireLockOptions, fn: (lock: HeldLock) => Promise<T>): Promise<T> {
  const held = await acquireLock(lockPath, options);
  try {
    return await fn(held);
  } finally {
    await held.release();
  }
}

/** True when a lock exists at `lockPath` that one look cannot call stale (see lock-staleness.ts). */
export async function isLocked(lockPath: string, staleMs = DEFAULT_LOCK_STALE_MS, maxClockSkewMs = DEFAULT_MAX_CLOCK_SKEW_MS): Promise<boolean> {
  const beat = await readHeartbeat(lockPath, () => readLockHolder(lockPath));
  return beat !== undefined && !isOneLookStale(beat, Date.now(), staleMs, maxClockSkewMs);
}

/**
 * The held side: writes the holder record and rewrites its heartbeat (`beat`, `heartbeatAt`) every refresh
 * until released or lost. Record writes are serialized and end before release removes the record; a lost
 * lock's record is no longer ours (a taker's, or about to be), so it is neither rewritten nor removed.
 */
async function holdLock(lockPath: string, release: () => Promise<void>, lost: AbortSignal, start: Record<string, string | number> & { hostname: string; since: string }, refreshMs: number): Promise<HeldLock> {
  let info: Record<string, string | number> = start;
  let beat = 0;
  let pending: Promise<void> = Promise.resolve();
  let released = false;
  const write = () => {
    if (released || lost.aborted) return pending;
    const record: LockHolder = { ...info, hostname: start.hostname, since: start.since, pid: process.pid, beat, heartbeatAt: new Date().toISOString() };
    pending = pending.then(() => (released || lost.aborted ? undefined : writeLockHolder(lockPath, record)));
    return pending;
  };
  const timer = setInterval(() => {
    beat += 1;
    void write();
  }, refreshMs);
  timer.unref();
  lost.addEventListener("abort", () => clearInterval(timer), { once: true });
  await write();
  return {
    lost,
    updateHolder: (extra) => {
      info = { ...info, ...extra };
      return write();
    },
    release: async () => {
      released = true;
      clearInterval(timer);
      await pending;
      if (!lost.aborted) await fs.rm(lockHolderPath(lockPath), { force: true }).catch(() => undefined);
      try {
        await release();
      } catch {
        // Already released or compromised (taken over as stale): nothing of ours is left to remove.
      }
    },
  };
}


function describeHolder(holder: LockHolder | undefined): string {
  return holder ? ` (held by pid ${holder.pid} on ${holder.hostname} since ${holder.since})` : " (held by another process)";
}

/**
 * A holder SIGKILLed mid-create leaves its package manager running (it has its own process group) and
 * writing into the prefix and the package cache. Taking over such a lock on the same host kills that group
 * first. A holder record is only left behind by a holder that died, and its own pid must be gone too.
 */
async function reapOrphanOfDeadHolder(lockPath: string, hostname: string): Promise<void> {
  const previous = await readLockHolder(lockPath);
  // Another host's pid and process group mean nothing here: never signal them.
  if (!previous || previous.hostname !== hostname || previous.pid === process.pid || isPidAlive(previous.pid)) return;
  const pgid = previous.childPgid;
  if (typeof pgid !== "number" || !Number.isInteger(pgid) || pgid <= 1) return;
  // Where /proc shows the group's leader, it must still be the recorded tool (pids are reused).
  const cmdline = await fs.readFile(`/proc/${pgid}/cmdline`, "utf8").catch(() => undefined);
  if (cmdline !== undefined && typeof previous.childPath === "string" && !cmdline.split("\0").includes(previous.childPath)) return;
  try {
    process.kill(-pgid, "SIGKILL");
  } catch {
    // Already gone.
  }
}



function throwIfAborted(signal: AbortSignal | undefined, label: string): void {
  if (signal?.aborted) {
    throw new EnvError("E_LOCK", `stopped waiting for the lock on ${label}: the operation was cancelled`, { cause: signal.reason, details: { cancelled: true } });
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, Math.max(ms, 0));
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
