/**
 * Leases: `<cache>/leases/<hash>/<holder-id>.json` = {holder, pid, hostname, heartbeatAt}. A lease is live
 * when its holder runs on this host and its pid is alive, or when it runs on another host (shared cache
 * over a network filesystem) and its heartbeat, written with that host's clock, is younger than
 * `staleMs + maxClockSkewMs` by ours: another host's pid is never looked at. Dead leases are ignored and
 * removed.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { EnvError } from "../../errors.js";
import type { Lease } from "../types.js";
import { assertSpecHash, leaseDirFor, type CacheLayout } from "./cache-layout.js";
import { isPidAlive } from "../../pid.js";
import { hostIdentity } from "./host.js";
import { DEFAULT_MAX_CLOCK_SKEW_MS } from "./lock-staleness.js";

export interface LeaseRecord {
  holder: string;
  pid: number;
  hostname: string;
  heartbeatAt: string;
}

export interface LeaseTiming {
  /** How often a held lease rewrites its heartbeat. */
  heartbeatMs: number;
  /** A lease from another host whose heartbeat is older than this (plus the clock skew allowed) is dead. */
  staleMs: number;
}

/** Who judges a lease: this worker's host name and the clock skew it allows (default 30 s). */
export interface LeaseJudge {
  hostname?: string;
  maxClockSkewMs?: number;
}

export const DEFAULT_LEASE_TIMING: LeaseTiming = { heartbeatMs: 30_000, staleMs: 120_000 };

/** Takes a lease on `hash` for `holder` (a session id or similar free text, used only in the record). */
export async function acquireLease(layout: CacheLayout, hash: string, holder: string, timing: LeaseTiming = DEFAULT_LEASE_TIMING, hostname = hostIdentity()): Promise<Lease> {
  assertSpecHash(hash);
  if (typeof holder !== "string" || holder.length === 0 || holder.length > 200 || /[\0-\x1f]/.test(holder)) {
    throw new EnvError("E_CACHE", `lease holder ${JSON.stringify(holder)} must be 1-200 printable characters (e.g. the session id)`);
  }
  const dir = leaseDirFor(layout, hash);
  // The file name never contains the free-text holder: only safe characters, plus pid and randomness.
  const safe = holder.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 60);
  const file = path.join(dir, `${safe}-${process.pid}-${randomBytes(4).toString("hex")}.json`);
  const write = async () => {
    // Another holder's release may remove the (then empty) directory at any moment, even inside mkdir
    // (EEXIST, then gone): retry a bounded number of times.
    for (let attempt = 0; ; attempt += 1) {
      try {
        await fs.mkdir(dir, { recursive: true });
        await writeAtomic(file, { holder, pid: process.pid, hostname, heartbeatAt: new Date().toISOString() });
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT" || attempt >= 20) throw error;
      }
    }
  };
  await write();
  let inFlight: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    inFlight = write().catch(() => undefined);
  }, timing.heartbeatMs);
  timer.unref();
  let released = false;
  return {
    hash,
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await inFlight;
      await fs.rm(file, { force: true });
      await fs.rmdir(dir).catch(() => undefined);
    },
  };
}

/**
 * Returns true when `record` belongs to a holder that is still alive. A heartbeat dated in the future (the
 * holder's clock is ahead) counts as fresh.
 */
export function isLeaseLive(record: LeaseRecord, now: number, staleMs: number, judge: LeaseJudge = {}): boolean {
  if (record.hostname === (judge.hostname ?? hostIdentity())) return isPidAlive(record.pid);
  const beat = Date.parse(record.heartbeatAt);
  return Number.isFinite(beat) && now - beat <= staleMs + Math.max(judge.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS, 0);
}

/** Returns the live leases on `hash`, removing dead ones it finds. */
export async function liveLeases(layout: CacheLayout, hash: string, staleMs = DEFAULT_LEASE_TIMING.staleMs, judge: LeaseJudge = {}): Promise<LeaseRecord[]> {
  const dir = leaseDirFor(layout, hash);
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  const live: LeaseRecord[] = [];
  const now = Date.now();
  for (const name of names) {
    if (!name.endsWith(".json")) continue;
    const file = path.join(dir, name);
    const record = await readLease(file);
    if (record && isLeaseLive(record, now, staleMs, judge)) live.push(record);
    // A torn or dead record is removed; a just-written one is never torn (writes are tmp + rename).
    else await fs.rm(file, { force: true }).catch(() => undefined);
  }
  return live;
}

/** The set of hashes that have a leases directory (cheap pre-filter for listing many envs). */
export async function hashesWithLeases(layout: CacheLayout): Promise<Set<string>> {
  try {
    return new Set(await fs.readdir(layout.leasesDir));
  } catch {
    return new Set();
  }
}

async function readLease(file: string): Promise<LeaseRecord | undefined> {
  try {
    const value = JSON.parse(await fs.readFile(file, "utf8")) as LeaseRecord;
    return typeof value.pid === "number" && typeof value.hostname === "string" && typeof value.heartbeatAt === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}

async function writeAtomic(file: string, record: LeaseRecord): Promise<void> {
  const tmp = `${file}.${randomBytes(4).toString("hex")}.tmp`;
  await fs.writeFile(tmp, JSON.stringify(record));
  await fs.rename(tmp, file);
}
