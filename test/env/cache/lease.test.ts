import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { acquireLease, isLeaseLive, liveLeases } from "../../../src/env/cache/lease.js";
import { cacheLayout, leaseDirFor } from "../../../src/env/cache/cache-layout.js";
import { hasCode } from "../../../src/errors.js";

const HASH = "a".repeat(64);
let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "hcw-lease-"));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe("leases", () => {
  it("a held lease is live; release removes it", async () => {
    const layout = cacheLayout(dir);
    const lease = await acquireLease(layout, HASH, "session ws/abc:1");
    expect(await liveLeases(layout, HASH)).toEqual([expect.objectContaining({ holder: "session ws/abc:1", pid: process.pid, hostname: os.hostname() })]);
    const names = await fs.readdir(leaseDirFor(layout, HASH));
    expect(names[0]).toMatch(/^session_ws_abc_1-\d+-[0-9a-f]{8}\.json$/);
    await lease.release();
    expect(await liveLeases(layout, HASH)).toEqual([]);
  });

  it("ignores and removes the lease of a dead process on this host", async () => {
    const layout = cacheLayout(dir);
    const d = leaseDirFor(layout, HASH);
    await fs.mkdir(d, { recursive: true });
    const deadPid = 2 ** 22 + 12345; // above Linux's pid_max default: never a live process
    await fs.writeFile(path.join(d, "dead.json"), JSON.stringify({ holder: "x", pid: deadPid, hostname: os.hostname(), heartbeatAt: new Date().toISOString() }));
    await fs.writeFile(path.join(d, "torn.json"), "{");
    expect(await liveLeases(layout, HASH)).toEqual([]);
    expect(await fs.readdir(d)).toEqual([]);
  });

  it("judges another host's lease by its heartbeat, never by its pid", () => {
    const now = Date.now();
    const judge = { hostname: "this-host", maxClockSkewMs: 0 };
    const record = (ageMs: number, pid = 2 ** 22 + 12345) => ({ holder: "x", pid, hostname: "other-host", heartbeatAt: new Date(now - ageMs).toISOString() });
    // A pid that is dead here (or alive here) says nothing about the other host.
    expect(isLeaseLive(record(1000), now, 60_000, judge)).toBe(true);
    expect(isLeaseLive(record(120_000, process.pid), now, 60_000, judge)).toBe(false);
    expect(isLeaseLive({ ...record(0), heartbeatAt: "garbage" }, now, 60_000, judge)).toBe(false);
  });

  it("allows the clock skew bound on another host's heartbeat, and a heartbeat from an ahead clock", () => {
    const now = Date.now();
    const at = (offsetMs: number) => ({ holder: "x", pid: 1, hostname: "other-host", heartbeatAt: new Date(now + offsetMs).toISOString() });
    const judge = { hostname: "this-host", maxClockSkewMs: 30_000 };
    // Written 10 s ago by a clock 25 s behind ours: it looks 35 s old against a 30 s stale time.
    expect(isLeaseLive(at(-35_000), now, 30_000, judge)).toBe(true);
    expect(isLeaseLive(at(-35_000), now, 30_000, { ...judge, maxClockSkewMs: 0 })).toBe(false);
    // Beyond stale + skew it is dead whatever the clocks.
    expect(isLeaseLive(at(-61_000), now, 30_000, judge)).toBe(false);
    // Written just now by a clock 20 s ahead of ours.
    expect(isLeaseLive(at(20_000), now, 30_000, judge)).toBe(true);
  });

  it("records the host it is given, and a lease of this host's name is judged by its pid", async () => {
    const layout = cacheLayout(dir);
    const lease = await acquireLease(layout, HASH, "s", undefined, "host-a");
    expect(await liveLeases(layout, HASH, undefined, { hostname: "host-b" })).toEqual([expect.objectContaining({ hostname: "host-a", pid: process.pid })]);
    expect(await liveLeases(layout, HASH, undefined, { hostname: "host-a" })).toHaveLength(1);
    await lease.release();
  });

  it("refreshes the heartbeat while held", async () => {
    const layout = cacheLayout(dir);
    const lease = await acquireLease(layout, HASH, "s", { heartbeatMs: 50, staleMs: 1000 });
    const [first] = await liveLeases(layout, HASH);
    await new Promise((r) => setTimeout(r, 200));
    const [later] = await liveLeases(layout, HASH);
    expect(Date.parse(later!.heartbeatAt)).toBeGreaterThan(Date.parse(first!.heartbeatAt));
    await lease.release();
  });

  it("refuses a bad hash or holder", async () => {
    const layout = cacheLayout(dir);
    await expect(acquireLease(layout, "../../etc", "s")).rejects.toSatisfy((e) => hasCode(e, "E_CACHE"));
    await expect(acquireLease(layout, HASH, "")).rejects.toSatisfy((e) => hasCode(e, "E_CACHE"));
    await expect(acquireLease(layout, HASH, "a\nb")).rejects.toSatisfy((e) => hasCode(e, "E_CACHE"));
  });
});
