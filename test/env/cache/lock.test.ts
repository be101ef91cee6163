import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { acquireLock, acquireLockUnless, isLocked, lockHolderPath, readLockHolder } from "../../../src/env/cache/lock.js";
import { hasCode } from "../../../src/errors.js";

let dir: string;
let lockPath: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "hcw-lock-"));
  lockPath = path.join(dir, "locks", "abc.lock");
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const timing = { staleMs: 2000, waitTimeoutMs: 10_000, maxBackoffMs: 50 };

describe("acquireLock", () => {
  it("locks a path that does not exist, records the holder, and releases", async () => {
    const held = await acquireLock(lockPath, { ...timing, label: "env abc", holderInfo: { prefix: "/p" } });
    expect(await isLocked(lockPath)).toBe(true);
    expect(await readLockHolder(lockPath)).toMatchObject({ pid: process.pid, hostname: os.hostname(), prefix: "/p" });
    await held.release();
    expect(await isLocked(lockPath)).toBe(false);
    await expect(fs.access(lockHolderPath(lockPath))).rejects.toThrow();
  });

  it("makes a second taker wait, reporting, until the first releases", async () => {
    const first = await acquireLock(lockPath, { ...timing, label: "env abc" });
    const waits: number[] = [];
    let acquired = false;
    const second = acquireLock(lockPath, { ...timing, label: "env abc", reportEveryMs: 0, onWaiting: (s) => waits.push(s) }).then((l) => {
      acquired = true;
      return l;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(acquired).toBe(false);
    expect(waits.length).toBeGreaterThan(0);
    await first.release();
    const held = await second;
    expect(acquired).toBe(true);
    await held.release();
  });

  it("gives up after waitTimeoutMs with E_LOCK naming the holder", async () => {
    const first = await acquireLock(lockPath, { ...timing, label: "env abc" });
    await expect(acquireLock(lockPath, { ...timing, waitTimeoutMs: 200, label: "env abc" })).rejects.toSatisfy(
      (e) => hasCode(e, "E_LOCK") && (e as Error).message.includes(`pid ${process.pid}`),
    );
    await first.release();
  });

  it("takes over a stale lock left by a dead holder", async () => {
    await fs.mkdir(lockPath, { recursive: true });
    const old = new Date(Date.now() - 60_000);
    await fs.utimes(lockPath, old, old);
    const held = await acquireLock(lockPath, { ...timing, waitTimeoutMs: 1000, label: "env abc" });
    expect(held.lost.aborted).toBe(false);
    await held.release();
  });

  it("stops waiting when the signal aborts", async () => {
    const first = await acquireLock(lockPath, { ...timing, label: "env abc" });
    const controller = new AbortController();
    const waiting = acquireLock(lockPath, { ...timing, label: "env abc", signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expect(waiting).rejects.toSatisfy((e) => hasCode(e, "E_LOCK") && /cancelled/.test((e as Error).message));
    await first.release();
  });

  it("signals a compromised lock instead of throwing from a timer", async () => {
    const compromised: Error[] = [];
    const held = await acquireLock(lockPath, { ...timing, label: "env abc", onCompromised: (e) => compromised.push(e) });
    await fs.rm(lockPath, { recursive: true, force: true });
    await new Promise<void>((resolve) => held.lost.addEventListener("abort", () => resolve(), { once: true }));
    expect(compromised).toHaveLength(1);
    await held.release();
  });

  it("on takeover kills the orphaned tool group of a dead holder, but only when /proc shows that tool", async () => {
    const sleeper = spawn("/bin/sleep", ["30"], { detached: true, stdio: "ignore" });
    const exited = new Promise((resolve) => sleeper.on("exit", resolve));
    try {
      const deadPid = 2 ** 22 + 4321;
      const leaveStaleRecord = async (childPath: string) => {
        await fs.mkdir(lockPath, { recursive: true });
        const old = new Date(Date.now() - 60_000);
        await fs.utimes(lockPath, old, old);
        await fs.writeFile(lockHolderPath(lockPath), JSON.stringify({ pid: deadPid, hostname: os.hostname(), since: old.toISOString(), childPgid: sleeper.pid, childPath }));
      };
      await leaveStaleRecord("/opt/other/bin/micromamba");
      await (await acquireLock(lockPath, { ...timing, label: "env abc" })).release();
      // Give a (wrong) kill time to be reaped before checking that the process still runs.
      await new Promise((r) => setTimeout(r, 300));
      expect(sleeper.exitCode).toBeNull();
      expect(sleeper.signalCode).toBeNull();
      await leaveStaleRecord("/bin/sleep");
      await (await acquireLock(lockPath, { ...timing, label: "env abc" })).release();
      await exited;
      expect(sleeper.signalCode).toBe("SIGKILL");
    } finally {
      sleeper.kill("SIGKILL");
    }
  });
});

describe("acquireLockUnless", () => {
  it("stops waiting without taking the lock once the guarded work is done, while the holder still holds it", async () => {
    const first = await acquireLock(lockPath, { ...timing, label: "env abc" });
    let done = false;
    let checks = 0;
    const waiting = acquireLockUnless(lockPath, { ...timing, label: "env abc" }, async () => {
      checks += 1;
      return done;
    });
    await new Promise((r) => setTimeout(r, 200));
    done = true;
    expect(await waiting).toBeUndefined();
    expect(checks).toBeGreaterThan(1);
    expect(await isLocked(lockPath)).toBe(true);
    expect(await readLockHolder(lockPath)).toMatchObject({ pid: process.pid });
    await first.release();
  });

  it("takes the lock as usual when the work is not done", async () => {
    const held = await acquireLockUnless(lockPath, { ...timing, label: "env abc" }, async () => false);
    expect(held).toBeDefined();
    expect(await isLocked(lockPath)).toBe(true);
    await held!.release();
  });
});
