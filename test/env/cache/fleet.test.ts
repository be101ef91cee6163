/**
 * One cache shared by several hosts, in one process: each "host" is a host name handed to the lock, lease
 * and eviction functions (the pid space is shared, which is exactly what must not matter across hosts).
 * The cross-process and UTS-namespace versions are in fleet.processes.test.ts.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { cacheLayout, envLockPath, type CacheLayout } from "../../../src/env/cache/cache-layout.js";
import { acquireLock, lockHolderPath, readLockHolder, type HeldLock } from "../../../src/env/cache/lock.js";
import { acquireLease } from "../../../src/env/cache/lease.js";
import { evictEnvs } from "../../../src/env/cache/evict.js";
import { sweepAbandonedPrefixes } from "../../../src/env/cache/sweep.js";
import { listLockStates } from "../../../src/env/cache/lock-state.js";
import { listCachedEnvs } from "../../../src/env/operator/cache-list.js";
import { hasCode } from "../../../src/errors.js";
import { silentLogger } from "../../../src/logger.js";
import { handBuildEnv } from "../support/hand-built-env.js";

const STALE_MS = 2000;
const HASH = "f".repeat(64);
let dir: string;
let layout: CacheLayout;
let lockPath: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "hcw-fleet-"));
  layout = cacheLayout(dir);
  lockPath = envLockPath(layout, HASH);
  await fs.mkdir(layout.locksDir, { recursive: true });
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const lockAs = (hostname: string, extra: Partial<Parameters<typeof acquireLock>[1]> = {}) =>
  acquireLock(lockPath, { label: `env ${HASH.slice(0, 12)}`, staleMs: STALE_MS, waitTimeoutMs: 20_000, maxBackoffMs: 50, hostname, holderInfo: { state: "creating" }, ...extra });

/** What a host that died mid-create leaves: the lock directory with a frozen heartbeat and its holder record. */
async function leaveDeadHolder(heartbeat: Date, record: Record<string, unknown>): Promise<void> {
  await fs.mkdir(lockPath, { recursive: true });
  await fs.utimes(lockPath, heartbeat, heartbeat);
  await fs.writeFile(lockHolderPath(lockPath), JSON.stringify({ since: heartbeat.toISOString(), state: "creating", ...record }));
}

describe("one cache, several hosts: the per-env lock", () => {
  it("two hosts racing for one lock: exactly one holds it at a time, and the record names that host", async () => {
    const holders: string[] = [];
    let inside = 0;
    let maxInside = 0;
    const run = async (host: string) => {
      const held = await lockAs(host);
      inside += 1;
      maxInside = Math.max(maxInside, inside);
      holders.push((await readLockHolder(lockPath))!.hostname);
      await sleep(150);
      inside -= 1;
      await held.release();
    };
    await Promise.all([run("host-a"), run("host-b"), run("host-a"), run("host-b")]);
    expect(maxInside).toBe(1);
    expect(holders.sort()).toEqual(["host-a", "host-a", "host-b", "host-b"]);
  });

  it("a holder on host A whose heartbeat stopped is taken over by host B once it stood still for the stale time, even with A's clock far ahead", async () => {
    // A's clock is 10 minutes ahead: by B's clock that heartbeat lies in the future, so no clock comparison
    // would ever call it stale. Its record names a pid alive here (ours): B must not look at it.
    await leaveDeadHolder(new Date(Date.now() + 600_000), { pid: process.pid, hostname: "host-a" });
    let taken: HeldLock | undefined;
    const taking = lockAs("host-b").then((l) => (taken = l));
    await sleep(STALE_MS / 2);
    expect(taken).toBeUndefined();
    await taking;
    expect(await readLockHolder(lockPath)).toMatchObject({ hostname: "host-b", pid: process.pid });
    expect(taken!.lost.aborted).toBe(false);
    await taken!.release();
  });

  it("never signals the process group another host's record names, while the same record from this host is reaped", async () => {
    const sleeper = spawn("/bin/sleep", ["30"], { detached: true, stdio: "ignore" });
    const exited = new Promise((resolve) => sleeper.on("exit", resolve));
    try {
      const record = { pid: 2 ** 22 + 4321, childPgid: sleeper.pid, childPath: "/bin/sleep" };
      await leaveDeadHolder(new Date(Date.now() - 600_000), { ...record, hostname: "host-a" });
      await (await lockAs("host-b")).release();
      await sleep(300);
      expect(sleeper.exitCode).toBeNull();
      expect(sleeper.signalCode).toBeNull();
      await leaveDeadHolder(new Date(Date.now() - 600_000), { ...record, hostname: "host-b" });
      await (await lockAs("host-b")).release();
      await exited;
      expect(sleeper.signalCode).toBe("SIGKILL");
    } finally {
      sleeper.kill("SIGKILL");
    }
  });

  it("a live holder on a host whose clock is 20 s behind is never taken over (within the skew bound); without the bound it would be", async () => {
    // Host A keeps its heartbeat moving, written with a clock 20 s behind ours.
    await leaveDeadHolder(new Date(Date.now() - 20_000), { pid: process.pid, hostname: "host-a" });
    const beat = setInterval(() => {
      const behind = new Date(Date.now() - 20_000);
      fs.utimes(lockPath, behind, behind).catch(() => undefined);
    }, 300);
    try {
      await expect(lockAs("host-b", { waitTimeoutMs: 3 * STALE_MS })).rejects.toSatisfy(
        (e) => hasCode(e, "E_LOCK") && (e as Error).message.includes("on host-a"),
      );
    } finally {
      clearInterval(beat);
    }
    // The control: allowing no skew, one look calls a heartbeat 20 s old by our clock dead (the beat is
    // stopped first only so that it cannot move between the look and the re-read before removal).
    await sleep(50);
    const wrong = await lockAs("host-b", { waitTimeoutMs: 0, maxClockSkewMs: 0 });
    expect(await readLockHolder(lockPath)).toMatchObject({ hostname: "host-b" });
    await wrong.release();
  });

  it("a holder whose directory heartbeat looks frozen (a network filesystem's attribute cache) but whose record's heartbeat moves is never taken over", async () => {
    // What a waiter on another NFS client may see: the lock directory's mtime stuck 5 minutes back, while
    // the holder record's content (read fresh on open) keeps beating.
    const frozen = new Date(Date.now() - 300_000);
    await leaveDeadHolder(frozen, { pid: process.pid, hostname: "host-a" });
    let beat = 0;
    const beatRecord = () =>
      fs.writeFile(lockHolderPath(lockPath), JSON.stringify({ pid: process.pid, hostname: "host-a", since: frozen.toISOString(), beat: ++beat, heartbeatAt: new Date().toISOString() }));
    await beatRecord();
    const timer = setInterval(() => void beatRecord().catch(() => undefined), 300);
    try {
      await expect(lockAs("host-b", { waitTimeoutMs: 3 * STALE_MS })).rejects.toSatisfy((e) => hasCode(e, "E_LOCK") && (e as Error).message.includes("on host-a"));
      expect(await listLockStates(layout.locksDir, { staleMs: STALE_MS })).toEqual([expect.objectContaining({ stale: false })]);
    } finally {
      clearInterval(timer);
    }
    // Once the record stops beating too, the holder is gone: taken over after the stale time.
    await sleep(50);
    const taken = await lockAs("host-b");
    expect(await readLockHolder(lockPath)).toMatchObject({ hostname: "host-b", beat: 0 });
    await taken.release();
  });

  it("a held lock rewrites its record's heartbeat every refresh, and a lost lock stops writing it", async () => {
    const held = await lockAs("host-a");
    const first = (await readLockHolder(lockPath))!;
    await sleep(2500);
    const later = (await readLockHolder(lockPath))!;
    expect(later.beat).toBeGreaterThan(first.beat!);
    expect(Date.parse(later.heartbeatAt!)).toBeGreaterThan(Date.parse(first.heartbeatAt!));
    expect(later).toMatchObject({ hostname: "host-a", since: first.since, state: "creating" });
    // Another taker's lock replaces ours: we notice, and leave its record alone.
    await fs.rm(lockPath, { recursive: true });
    await new Promise<void>((resolve) => held.lost.addEventListener("abort", () => resolve(), { once: true }));
    // A write already in flight when the loss is noticed still lands; no new one starts after it.
    await sleep(200);
    const theirs = { pid: 1, hostname: "host-b", since: new Date().toISOString() };
    await fs.writeFile(lockHolderPath(lockPath), JSON.stringify(theirs));
    await sleep(1500);
    await held.release();
    expect(await readLockHolder(lockPath)).toEqual(theirs);
  });
});

describe("one cache, several hosts: partial envs and leases", () => {
  it("a partial env of a create that died on host A is swept by host B only once one look may call its lock stale", async () => {
    const prefix = path.join(layout.envsDir, "env-ffffffffffffffff");
    await fs.mkdir(path.join(prefix, "conda-meta"), { recursive: true });
    // Dead 20 s ago: past the stale time, but inside the 30 s the clocks may differ by.
    await leaveDeadHolder(new Date(Date.now() - 20_000), { pid: 2 ** 22 + 1, hostname: "host-a", prefix });
    const sweep = (maxClockSkewMs?: number) =>
      sweepAbandonedPrefixes(layout, { staleMs: STALE_MS, logger: silentLogger, hostname: "host-b", ...(maxClockSkewMs !== undefined ? { maxClockSkewMs } : {}) });
    expect(await sweep()).toEqual([]);
    expect(await listLockStates(layout.locksDir, { staleMs: STALE_MS })).toEqual([expect.objectContaining({ stale: false, holder: expect.objectContaining({ hostname: "host-a" }) })]);
    await fs.utimes(lockPath, new Date(Date.now() - 40_000), new Date(Date.now() - 40_000));
    expect(await listLockStates(layout.locksDir, { staleMs: STALE_MS })).toEqual([expect.objectContaining({ stale: true })]);
    expect(await sweep()).toEqual([prefix]);
    await expect(fs.access(prefix)).rejects.toThrow();
    expect(await listLockStates(layout.locksDir)).toEqual([]);
  });

  it("a lease taken on host A blocks eviction by host B; once A's heartbeat is older than stale + skew it no longer does", async () => {
    const leased = await handBuildEnv(dir, "tinylib", { lastUsedAgoMs: 3_600_000 });
    const lease = await acquireLease(layout, leased.hash, "session on A", { heartbeatMs: 60_000, staleMs: STALE_MS }, "host-a");
    const deps = { layout, logger: silentLogger, lockStaleMs: STALE_MS, leaseStaleMs: STALE_MS, hostname: "host-b", maxClockSkewMs: 5000 };
    try {
      expect(await evictEnvs(deps, { maxEnvs: 0 })).toEqual([]);
      const [listed] = await listCachedEnvs(layout, { leaseStaleMs: STALE_MS, judge: { hostname: "host-b", maxClockSkewMs: 5000 } });
      expect(listed).toMatchObject({ inUse: true, leases: [{ holder: "session on A", hostname: "host-a", pid: process.pid }] });
      // Host A dies: its lease file stays, its heartbeat stops. The pid in it (ours, alive) is not consulted.
      const [file] = await fs.readdir(path.join(layout.leasesDir, leased.hash));
      const record = JSON.parse(await fs.readFile(path.join(layout.leasesDir, leased.hash, file!), "utf8")) as Record<string, unknown>;
      const beatAt = (ago: number) => fs.writeFile(path.join(layout.leasesDir, leased.hash, file!), JSON.stringify({ ...record, heartbeatAt: new Date(Date.now() - ago).toISOString() }));
      await beatAt(STALE_MS + 4000);
      expect(await evictEnvs(deps, { maxEnvs: 0 })).toEqual([]);
      await beatAt(STALE_MS + 6000);
      expect((await evictEnvs(deps, { maxEnvs: 0 })).map((e) => e.hash)).toEqual([leased.hash]);
    } finally {
      await lease.release();
    }
  });
});
