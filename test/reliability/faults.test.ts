/**
 * Faults under the worker service: a package manager that hangs (timeout, lock released, clear error, the
 * next start works on the same worker) and a disk-full create on a tiny tmpfs cache (clear error, nothing
 * half-built left, the next start works once space is back). Env-layer variants of the hang:
 * test/env/ensure-env.test.ts.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fakePmPath, readInvocationLog } from "../support/fake-pm.js";
import { Rig } from "./support/rig.js";
import { isRunning } from "./support/proc.js";

async function startError(rig: Rig, appId: string): Promise<{ message: string; id: string }> {
  const config = rig.startConfig(appId, {});
  const message = await rig.call("start", [config]).then(
    () => "STARTED",
    (e: Error) => e.message,
  );
  return { message, id: config.id as string };
}

describe("a package manager that hangs", () => {
  let rig: Rig | undefined;
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "hcw-rel-hang-"));
  });
  afterAll(async () => {
    await rig?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("times out with a clear error, releases the lock, leaves nothing, and the next start works", async () => {
    // Hangs only `create`, and only while the flag file exists (`--version` answers, so detection works).
    const flag = path.join(dir, "hang");
    const launcher = path.join(dir, "micromamba");
    writeFileSync(flag, "");
    writeFileSync(launcher, `#!/bin/sh\nif [ "$1" = create ] && [ -e "${flag}" ]; then FAKE_PM_HANG=1; export FAKE_PM_HANG; fi\nexec "${fakePmPath("micromamba")}" "$@"\n`, { mode: 0o755 });
    rig = await Rig.start({ packageManager: launcher, createTimeoutMs: 2_000 });
    const appId = await rig.install("hung", "print('no longer hung', flush=True)\n", { dependencies: ["python", "tinylib"] });
    const started = Date.now();
    const { message, id } = await startError(rig, appId);
    const seconds = (Date.now() - started) / 1000;
    expect(message).toMatch(/longer than 2 s/);
    expect(message).toMatch(/\[E_[A-Z_]+\]/);
    expect(seconds).toBeLessThan(30);
    const creates = readInvocationLog(rig.pmLog).filter((i) => i.argv.includes("create"));
    expect(creates).toHaveLength(1);
    for (const { pid } of creates) expect(isRunning(pid), `package manager pid ${pid} survived its timeout`).toBe(false);
    await rig.call("stop", [id]);
    const left = rig.leftovers();
    expect(left.locks, "locks").toEqual([]);
    expect(left.envs, "partial env").toEqual([]);
    expect(left.leases, "leases").toEqual([]);
    expect(left.workDirs, "working dirs").toEqual([]);

    rmSync(flag);
    const good = rig.startConfig(appId, {});
    expect(await rig.call("start", [good])).toBe(good.id);
    const info = (await rig.call("get_session_info", [good.id])) as { metadata: Record<string, unknown> };
    expect(info.metadata.env_status).toBe("created");
    await rig.call("stop", [good.id]);
  }, 60_000);
});

/** Mounts a 2 MiB tmpfs (needs root and mount rights); returns why it cannot when it cannot. */
function mountTinyTmpfs(dir: string): string | undefined {
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", dir], { stdio: "pipe" });
    return undefined;
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? "").trim();
    return `mount -t tmpfs -o size=2m failed here: ${stderr || (error as Error).message}`;
  }
}

/** Whether a tmpfs can be mounted here (probed by mounting and unmounting at once, so nothing can leak). */
function probeMount(): string | undefined {
  if (process.platform !== "linux") return "disk-full needs a Linux tmpfs";
  const probe = mkdtempSync(path.join(os.tmpdir(), "hcw-rel-mountprobe-"));
  try {
    const reason = mountTinyTmpfs(probe);
    if (reason === undefined) execFileSync("umount", [probe], { stdio: "pipe" });
    return reason;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}
const cannotMount = probeMount();

describe.skipIf(cannotMount !== undefined)(`a disk-full create${cannotMount ? ` (skipped: ${cannotMount})` : ""}`, () => {
  let rig: Rig | undefined;
  let tmpfsRoot = "";
  let mountPoint = "";
  beforeAll(() => {
    tmpfsRoot = mkdtempSync(path.join(os.tmpdir(), "hcw-rel-diskfull-"));
    mountPoint = path.join(tmpfsRoot, "cache");
    mkdirSync(mountPoint);
    const reason = mountTinyTmpfs(mountPoint);
    if (reason) throw new Error(reason);
  });
  afterAll(async () => {
    await rig?.close();
    try {
      execFileSync("umount", [mountPoint], { stdio: "pipe" });
    } catch {
      // Not mounted.
    }
    rmSync(tmpfsRoot, { recursive: true, force: true });
  });

  it("fails with the tool's clear error, leaves no partial env or lock, and works once space is back", async () => {
    rig = await Rig.start({ cacheDir: mountPoint });
    const appId = await rig.install("diskfull", "print('space is back', flush=True)\n", { dependencies: ["python", "tinylib", "tinytool"] });
    // Fill the tmpfs up to a few KiB.
    const filler = path.join(mountPoint, "filler");
    const { bavail, bsize } = statfsSync(mountPoint);
    writeFileSync(filler, Buffer.alloc(Math.max(0, bavail * bsize - 8 * 1024)));
    const { message, id } = await startError(rig, appId);
    expect(message).toMatch(/ENOSPC|No space left|space/i);
    expect(message).toMatch(/\[E_[A-Z_]+\]/);
    await rig.call("stop", [id]);
    const left = rig.leftovers();
    expect(left.envs, "partial env").toEqual([]);
    expect(left.locks, "locks").toEqual([]);
    expect(left.leases, "leases").toEqual([]);
    expect(left.workDirs, "working dirs").toEqual([]);

    rmSync(filler);
    const good = rig.startConfig(appId, {});
    expect(await rig.call("start", [good])).toBe(good.id);
    expect(((await rig.call("get_session_info", [good.id])) as { metadata: Record<string, unknown> }).metadata.env_status).toBe("created");
    await rig.call("stop", [good.id]);
  }, 60_000);
});
