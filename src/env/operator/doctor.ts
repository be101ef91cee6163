/**
 * gatherDoctorReport: what an operator needs to see when something does not work — the package managers
 * found and chosen, the cache dir (writable? free disk?), locks and leases held, python3 and node.
 * Never bootstraps, never creates an env; writes only a probe file it removes again.
 */
import { randomBytes } from "node:crypto";
import { access, readdir, readFile, rm, stat, statfs, writeFile, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { loadExeca } from "../../load-execa.js";
import { describeError } from "../../errors.js";
import { cacheLayout, type CacheLayout } from "../cache/cache-layout.js";
import { isLeaseLive, type LeaseRecord, DEFAULT_LEASE_TIMING } from "../cache/lease.js";
import { isLocked, readLockHolder, type LockHolder } from "../cache/lock.js";
import type { EnvManager, PackageManagerInfo } from "../types.js";

export interface DoctorLock {
  /** The lock's name under locks/ (an env hash or a shared lock such as the package cache). */
  name: string;
  path: string;
  /** When the holder last refreshed it. */
  updatedAt: string;
  ageSeconds: number;
  /** Who holds it, as the holder recorded (pid, hostname, since, what it is doing). */
  holder?: LockHolder;
}

export interface DoctorLease extends LeaseRecord {
  hash: string;
  /** False for a record whose holder is gone (it no longer protects the env). */
  live: boolean;
}

export interface DoctorReport {
  packageManagers: { found: PackageManagerInfo[]; chosen: PackageManagerInfo | null; searched: string[]; error?: string };
  cache: { dir: string; exists: boolean; writable: boolean; writeError?: string; freeBytes: number | null; totalBytes: number | null; envCount: number | null };
  locks: DoctorLock[];
  leases: DoctorLease[];
  python3: { found: boolean; path?: string; version?: string; error?: string };
  node: { version: string; platform: string; arch: string };
  /** True when the worker can build and run envs here (a package manager and a writable cache). */
  ok: boolean;
}

async function nearestExisting(path: string): Promise<string> {
  let current = path;
  for (;;) {
    try {
      await access(current);
      return current;
    } catch {
      const parent = dirname(current);
      if (parent === current) return current;
      current = parent;
    }
  }
}

/** Writes and removes a probe file; creates the cache dir when missing, as the worker would. */
async function probeWritable(dir: string): Promise<{ writable: boolean; writeError?: string }> {
  const probe = join(dir, `.doctor-probe-${process.pid}-${randomBytes(4).toString("hex")}`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(probe, "ok");
    await rm(probe, { force: true });
    return { writable: true };
  } catch (error) {
    return { writable: false, writeError: describeError(error) };
  }
}

async function diskSpace(dir: string): Promise<{ freeBytes: number | null; totalBytes: number | null }> {
  try {
    const s = await statfs(await nearestExisting(dir));
    return { freeBytes: Number(s.bavail) * Number(s.bsize), totalBytes: Number(s.blocks) * Number(s.bsize) };
  } catch {
    return { freeBytes: null, totalBytes: null };
  }
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

/** Locks currently held: proper-lockfile keeps a fresh `<name>.lock` directory while a holder owns it. */
async function heldLocks(locksDir: string, now: number): Promise<DoctorLock[]> {
  const locks: DoctorLock[] = [];
  for (const name of (await listDir(locksDir)).filter((n) => n.endsWith(".lock")).sort()) {
    const path = join(locksDir, name);
    try {
      if (!(await isLocked(path))) continue;
      const info = await stat(path);
      const holder = await readLockHolder(path);
      locks.push({
        name: name.slice(0, -".lock".length),
        path,
        updatedAt: info.mtime.toISOString(),
        ageSeconds: Math.round((now - info.mtimeMs) / 1000),
        ...(holder ? { holder } : {}),
      });
    } catch {
      // Released between readdir and stat.
    }
  }
  return locks;
}

/** Every lease record on disk, with its liveness; doctor only reads (the env layer cleans dead ones). */
async function recordedLeases(layout: CacheLayout, now: number): Promise<DoctorLease[]> {
  const leases: DoctorLease[] = [];
  for (const hash of (await listDir(layout.leasesDir)).sort()) {
    for (const file of (await listDir(join(layout.leasesDir, hash))).filter((f) => f.endsWith(".json")).sort()) {
      try {
        const record = JSON.parse(await readFile(join(layout.leasesDir, hash, file), "utf8")) as LeaseRecord;
        if (typeof record.pid !== "number" || typeof record.hostname !== "string" || typeof record.heartbeatAt !== "string") continue;
        const { holder, pid, hostname, heartbeatAt } = record;
        leases.push({ hash, holder: String(holder), pid, hostname, heartbeatAt, live: isLeaseLive(record, now, DEFAULT_LEASE_TIMING.staleMs) });
      } catch {
        // A lease being removed right now.
      }
    }
  }
  return leases;
}

async function probePython(env: NodeJS.ProcessEnv): Promise<DoctorReport["python3"]> {
  try {
    const execa = await loadExeca();
    const r = await execa("python3", ["-c", "import sys; print(sys.executable); print(sys.version.split()[0])"], { env, extendEnv: false, timeout: 15_000 });
    const [path, version] = r.stdout.trim().split("\n");
    return { found: true, ...(path ? { path } : {}), ...(version ? { version } : {}) };
  } catch (error) {
    return { found: false, error: (error as { shortMessage?: string }).shortMessage ?? describeError(error) };
  }
}

/** Gathers the doctor report for a manager's options. */
export async function gatherDoctorReport(manager: EnvManager, deps: { env?: NodeJS.ProcessEnv } = {}): Promise<DoctorReport> {
  const env = deps.env ?? process.env;
  const cacheDir = manager.options.cacheDir;
  const layout = cacheLayout(cacheDir);
  const now = Date.now();
  const [pm, exists] = await Promise.all([
    manager.detectPackageManagers().then(
      (r) => ({ found: r.found, chosen: r.chosen ?? null, searched: r.searched }),
      (error: unknown) => ({ found: [], chosen: null, searched: [], error: describeError(error) }),
    ),
    access(cacheDir).then(() => true, () => false),
  ]);
  const writable = await probeWritable(cacheDir);
  const [space, locks, leases, python3, envCount] = await Promise.all([
    diskSpace(cacheDir),
    heldLocks(layout.locksDir, now),
    recordedLeases(layout, now),
    probePython(env),
    manager.listEnvs().then((e) => e.length, () => null),
  ]);
  return {
    packageManagers: pm,
    cache: { dir: cacheDir, exists, ...writable, ...space, envCount },
    locks,
    leases,
    python3,
    node: { version: process.version, platform: process.platform, arch: process.arch },
    // Without a package manager the worker can still bootstrap micromamba when allowed.
    ok: (pm.chosen !== null || manager.options.bootstrap) && writable.writable,
  };
}
