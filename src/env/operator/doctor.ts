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
import { hostIdentity } from "../cache/host.js";
import { listLockStates, type LockState } from "../cache/lock-state.js";
import { cacheMountOf, type CacheMount } from "./cache-mount.js";
import type { EnvManager, PackageManagerInfo } from "../types.js";

/** A lock under locks/ with its holder's host; `stale` ones belong to a holder that is gone. */
export type DoctorLock = LockState;

export interface DoctorLease extends LeaseRecord {
  hash: string;
  /** False for a record whose holder is gone (it no longer protects the env). */
  live: boolean;
}

export interface DoctorReport {
  /** The name this worker records in locks and leases (HYPHA_CONDA_HOSTNAME or the OS host name). */
  host: string;
  packageManagers: { found: PackageManagerInfo[]; chosen: PackageManagerInfo | null; searched: string[]; error?: string };
  cache: {
    dir: string;
    exists: boolean;
    writable: boolean;
    writeError?: string;
    freeBytes: number | null;
    totalBytes: number | null;
    envCount: number | null;
    /**
     * This host's clock minus the cache filesystem's, from a probe file's mtime (a network filesystem stamps
     * new files with its server's clock; a local one with ours, so ~0). Null when it could not be measured.
     */
    clockOffsetMs: number | null;
    /** The filesystem holding the cache (Linux /proc/mounts); for NFS, how long it caches directory attributes. */
    mount: CacheMount | null;
  };
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
async function probeWritable(dir: string): Promise<{ writable: boolean; writeError?: string; clockOffsetMs: number | null }> {
  const probe = join(dir, `.doctor-probe-${process.pid}-${randomBytes(4).toString("hex")}`);
  try {
    await mkdir(dir, { recursive: true });
    const before = Date.now();
    await writeFile(probe, "ok");
    const after = Date.now();
    const stamped = (await stat(probe)).mtimeMs;
    await rm(probe, { force: true });
    // Within the write's own duration (and the filesystem's timestamp granularity) counts as no offset.
    const offset = stamped < before - 1000 ? before - stamped : stamped > after + 1000 ? after - stamped : 0;
    return { writable: true, clockOffsetMs: Math.round(offset) };
  } catch (error) {
    return { writable: false, writeError: describeError(error), clockOffsetMs: null };
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

/** Every lease record on disk, with its liveness; doctor only reads (the env layer cleans dead ones). */
async function recordedLeases(layout: CacheLayout, now: number): Promise<DoctorLease[]> {
  const leases: DoctorLease[] = [];
  for (const hash of (await listDir(layout.leasesDir)).sort()) {
    for (const file of (await listDir(join(layout.leasesDir, hash))).filter((f) => f.endsWith(".json")).sort()) {
      try {
        const record = JSON.parse(await readFile(join(layout.leasesDir, hash, file), "utf8")) as LeaseRecord;
        if (typeof record.pid !== "number" || typeof record.hostname !== "string" || typeof record.heartbeatAt !== "string") continue;
        const { holder, pid, hostname, heartbeatAt } = record;
        leases.push({ hash, holder: String(holder), pid, hostname, heartbeatAt, live: isLeaseLive(record, now, DEFAULT_LEASE_TIMING.staleMs, { hostname: hostIdentity() }) });
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
  const [space, locks, leases, python3, envCount, mount] = await Promise.all([
    diskSpace(cacheDir),
    listLockStates(layout.locksDir, { now }),
    recordedLeases(layout, now),
    probePython(env),
    manager.listEnvs().then((e) => e.length, () => null),
    cacheMountOf(cacheDir),
  ]);
  return {
    host: hostIdentity(),
    packageManagers: pm,
    cache: { dir: cacheDir, exists, ...writable, ...space, envCount, mount: mount ?? null },
    locks,
    leases,
    python3,
    node: { version: process.version, platform: process.platform, arch: process.arch },
    // Without a package manager the worker can still bootstrap micromamba when allowed.
    ok: (pm.chosen !== null || manager.options.bootstrap) && writable.writable,
  };
}
