import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdir, utimes, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { gatherDoctorReport } from "../../../src/env/operator/doctor.js";
import { createEnvManager } from "../../../src/env/env-manager.js";
import { cacheLayout, envLockPath } from "../../../src/env/cache/cache-layout.js";
import { acquireLock, lockHolderPath } from "../../../src/env/cache/lock.js";
import { acquireLease } from "../../../src/env/cache/lease.js";
import { formatDoctorReport } from "../../../src/cli/doctor.js";
import { linkFakePm } from "../../support/fake-pm.js";
import { makeSandbox, type Sandbox } from "../../cli/operator-sandbox.js";

const HASH = "cd".repeat(32);
const DEAD_PID = 2 ** 22 + 12345; // above Linux's pid_max default range, so never alive

let box: Sandbox;
beforeEach(async () => {
  box = await makeSandbox();
});
afterEach(async () => {
  await box.cleanup();
});

describe("gatherDoctorReport", () => {
  it("reports the chosen package manager, a writable cache with free disk, python3 and node", async () => {
    const report = await gatherDoctorReport(box.manager(), { env: box.env });
    expect(report.packageManagers.chosen).toMatchObject({ name: box.target.name, path: box.options.packageManager });
    expect(report.packageManagers.found.map((p) => p.path)).toContain(box.options.packageManager);
    expect(report.cache).toMatchObject({ dir: box.cacheDir, writable: true, envCount: 0 });
    expect(report.cache.freeBytes).toBeGreaterThan(0);
    expect(report.cache.totalBytes).toBeGreaterThanOrEqual(report.cache.freeBytes!);
    expect(report.cache.mount).toMatchObject({ mountPoint: expect.stringMatching(/^\//), type: expect.any(String) });
    expect(report.python3).toMatchObject({ found: true, version: expect.stringMatching(/^3\.\d+\.\d+/) });
    expect(report.node).toEqual({ version: process.version, platform: process.platform, arch: process.arch });
    expect(report.locks).toEqual([]);
    expect(report.leases).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it("lists every package manager on PATH and marks which one detection chose", async () => {
    const bin = join(box.dir, "bin");
    for (const name of ["mamba", "micromamba", "conda"] as const) linkFakePm(bin, name);
    const env = { ...box.env, PATH: `${bin}:/usr/bin:/bin` };
    const manager = createEnvManager({ ...box.options, packageManager: undefined }, { env });
    const report = await gatherDoctorReport(manager, { env });
    expect(report.packageManagers.found.map((p) => p.name).sort()).toEqual(["conda", "mamba", "micromamba"]);
    // Detection order is mamba, then micromamba, then conda.
    expect(report.packageManagers.chosen?.name).toBe("mamba");
  });

  it("shows locks held and leases (live and dead) without changing them", async () => {
    const layout = cacheLayout(box.cacheDir);
    const lock = await acquireLock(envLockPath(layout, HASH), { label: "test", staleMs: 10_000, waitTimeoutMs: 1000, holderInfo: { prefix: "/x" } });
    const manager = box.manager();
    const lease = await manager.acquireLease(HASH, "session-1");
    const deadDir = join(layout.leasesDir, "ef".repeat(32));
    await mkdir(deadDir, { recursive: true });
    await writeFile(join(deadDir, "gone.json"), JSON.stringify({ holder: "session-gone", pid: DEAD_PID, hostname: hostname(), heartbeatAt: new Date().toISOString() }));
    try {
      const report = await gatherDoctorReport(manager, { env: box.env });
      expect(report.locks).toHaveLength(1);
      expect(report.locks[0]).toMatchObject({ name: HASH, holder: { pid: process.pid, hostname: hostname() } });
      const byHolder = Object.fromEntries(report.leases.map((l) => [l.holder, l]));
      expect(byHolder["session-1"]).toMatchObject({ hash: HASH, pid: process.pid, live: true });
      expect(byHolder["session-gone"]).toMatchObject({ pid: DEAD_PID, live: false });
    } finally {
      await lease.release();
      await lock.release();
    }
    const after = await gatherDoctorReport(manager, { env: box.env });
    expect(after.locks).toEqual([]);
  });

  it("names the host holding each lock and lease, this host's identity, and marks a dead host's lock stale", async () => {
    const layout = cacheLayout(box.cacheDir);
    const lock = await acquireLock(envLockPath(layout, HASH), { label: "test", staleMs: 10_000, waitTimeoutMs: 1000, hostname: "gpu-box-2", holderInfo: { state: "creating" } });
    const lease = await acquireLease(layout, HASH, "session-on-2", undefined, "gpu-box-2");
    // A create that died on gpu-box-3 ten minutes ago: its lock directory and record are still there.
    const deadLock = envLockPath(layout, "ab".repeat(32));
    await mkdir(deadLock);
    const old = new Date(Date.now() - 600_000);
    await utimes(deadLock, old, old);
    await writeFile(lockHolderPath(deadLock), JSON.stringify({ pid: DEAD_PID, hostname: "gpu-box-3", since: old.toISOString(), state: "creating" }));
    try {
      const report = await gatherDoctorReport(box.manager(), { env: box.env });
      expect(report.host).toBe(hostname());
      expect(report.cache.clockOffsetMs).toBe(0);
      const byName = Object.fromEntries(report.locks.map((l) => [l.name, l]));
      expect(byName[HASH]).toMatchObject({ stale: false, holder: { hostname: "gpu-box-2", pid: process.pid, state: "creating" } });
      expect(byName["ab".repeat(32)]).toMatchObject({ stale: true, holder: { hostname: "gpu-box-3" } });
      // Another host's lease is live by its heartbeat alone.
      expect(report.leases).toEqual([expect.objectContaining({ holder: "session-on-2", hostname: "gpu-box-2", live: true })]);
      const text = formatDoctorReport(report);
      expect(text).toContain(`Host: ${hostname()}`);
      expect(text).toMatch(new RegExp(`${HASH} creating by pid ${process.pid} on gpu-box-2 since`));
      expect(text).toMatch(/abab\S* creating by pid \d+ on gpu-box-3 .*STALE/);
      expect(text).toContain(`session-on-2  pid ${process.pid} on gpu-box-2  live`);
    } finally {
      await lease.release();
      await lock.release();
    }
  });

  it("says not OK when no package manager is found, bootstrap is off, or the cache is not writable", async () => {
    const env = { ...box.env, PATH: "/nonexistent-bin" };
    const none = createEnvManager({ ...box.options, packageManager: undefined }, { env });
    const report = await gatherDoctorReport(none, { env });
    expect(report.packageManagers.found).toEqual([]);
    expect(report.packageManagers.chosen).toBeNull();
    expect(report.ok).toBe(false);

    const file = join(box.dir, "a-file");
    await writeFile(file, "x");
    const blocked = createEnvManager({ ...box.options, cacheDir: join(file, "cache") }, { env: box.env });
    const r2 = await gatherDoctorReport(blocked, { env: box.env });
    expect(r2.cache.writable).toBe(false);
    expect(r2.cache.writeError).toMatch(/ENOTDIR|not a directory/i);
    expect(r2.ok).toBe(false);
  });
});
