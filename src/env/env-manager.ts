/**
 * The environment layer as one object (src/env/types.ts EnvManager): package-manager detection once per
 * process, ensure-env, leases, listing, eviction and removal over one cache layout.
 */
import { EnvError, hasCode } from "../errors.js";
import { silentLogger, type Logger } from "../logger.js";
import { createProgressReporter, type ProgressSink } from "../progress.js";
import type { CacheEntry, EnsureEnvOptions, EnvManager, EnvOptions, EnvResult, EnvSpec, EvictionLimits, Lease, PackageManagerInfo, PackageManagerReport } from "./types.js";
import { cacheLayout, type CacheLayout } from "./cache/cache-layout.js";
import { ensureEnv, type EnsureContext } from "./build/ensure-env.js";
import { acquireLease, DEFAULT_LEASE_TIMING, type LeaseTiming } from "./cache/lease.js";
import { DEFAULT_LOCK_STALE_MS } from "./cache/lock.js";
import { hostIdentity } from "./cache/host.js";
import type { bootstrapMicromamba } from "./build/package-manager/bootstrap.js";
import type { EnvLock } from "./lock/lock-file.js";
import { unlockedSpec } from "./spec/hash.js";

// Loaded on first use: a cache hit (a warm `run` or start) needs no listing, eviction, detection, bootstrap
// or lock making, and their modules cost start-up time.
const cacheList = () => import("./operator/cache-list.js");
const evict = () => import("./cache/evict.js");
const detect = () => import("./build/package-manager/detect.js");
const bootstrapModule = () => import("./build/package-manager/bootstrap.js");

export interface EnvManagerDeps {
  logger?: Logger;
  /** The worker's environment (PATH for detection; filtered before it reaches a package manager). */
  env?: NodeJS.ProcessEnv;
  /** Lock staleness (heartbeat every quarter of it); tests shorten it. Default 10 s. */
  lockStaleMs?: number;
  leaseTiming?: LeaseTiming;
  /** Clock skew tolerated between hosts sharing the cache, for one-look judgements (gc, listing). Default 30 s. */
  maxClockSkewMs?: number;
  /** Replaces the micromamba download (tests). */
  bootstrap?: typeof bootstrapMicromamba;
}

/** Creates the env manager; validates options, touches nothing on disk until used. */
export function createEnvManager(options: EnvOptions, deps: EnvManagerDeps = {}): EnvManager {
  const layout = cacheLayout(options.cacheDir);
  if (!Number.isFinite(options.createTimeoutMs) || options.createTimeoutMs <= 0) {
    throw new EnvError("E_CONFIG", `create timeout ${options.createTimeoutMs} ms is not a positive number; set --env-timeout to seconds > 0`);
  }
  for (const [name, value] of Object.entries({ cacheMaxEnvs: options.cacheMaxEnvs, cacheMaxSizeBytes: options.cacheMaxSizeBytes, cacheMaxAgeMs: options.cacheMaxAgeMs })) {
    if (value !== undefined && (!Number.isFinite(value) || value < 0)) {
      throw new EnvError("E_CONFIG", `${name} ${value} must be a number ≥ 0; fix the matching --cache-max-* option`);
    }
  }
  const logger = deps.logger ?? silentLogger;
  const env = deps.env ?? process.env;
  const lockStaleMs = deps.lockStaleMs ?? DEFAULT_LOCK_STALE_MS;
  const leaseTiming = deps.leaseTiming ?? DEFAULT_LEASE_TIMING;
  // Fails now, not at the first lock, when HYPHA_CONDA_HOSTNAME is not a usable host name.
  const hostname = hostIdentity();
  const skew = deps.maxClockSkewMs !== undefined ? { maxClockSkewMs: deps.maxClockSkewMs } : {};
  const evictDeps = { layout, logger, lockStaleMs, leaseStaleMs: leaseTiming.staleMs, hostname, ...skew };
  const listOptions = { leaseStaleMs: leaseTiming.staleMs, lockStaleMs, judge: { hostname, ...skew } };
  let chosen: Promise<PackageManagerInfo> | undefined;

  const packageManager = (onProgress?: ProgressSink): Promise<PackageManagerInfo> => {
    chosen ??= choosePackageManager(options, layout, env, deps, onProgress).catch((error: unknown) => {
      // A failed detection may succeed later (an operator installs a tool); a success is final.
      chosen = undefined;
      throw error;
    });
    return chosen;
  };

  const ctx: EnsureContext = { options, layout, logger, baseEnv: env, packageManager, lockStaleMs };
  const limits = (given?: EvictionLimits): EvictionLimits => given ?? { maxEnvs: options.cacheMaxEnvs, maxSizeBytes: options.cacheMaxSizeBytes, maxAgeMs: options.cacheMaxAgeMs };

  return {
    options,
    packageManager,
    detectPackageManagers: async () => (await detect()).detectPackageManagers(await detectOptions(options, layout, env)),
    async ensureEnv(spec: EnvSpec, ensureOptions?: EnsureEnvOptions): Promise<EnvResult> {
      const result = await ensureEnv(ctx, spec, ensureOptions).catch((error: unknown) => {
        // A locked package gone from its channel: the operator may have chosen to build from the spec instead.
        if (!spec.lock || options.lockMismatch !== "spec" || !hasCode(error, "E_ENV_LOCK_STALE")) throw error;
        const note = `${error.message.split(";")[0]}; building from the spec (--lock-mismatch spec)`;
        logger.warn(note);
        return ensureEnv(ctx, { ...unlockedSpec(spec), lockNote: note }, ensureOptions);
      });
      if (result.status === "created") {
        // The env just built is its caller's: never evicted by the gc its own create triggers.
        await (await evict()).evictEnvs(evictDeps, limits(), new Set([result.hash])).catch((error: unknown) => logger.warn(`eviction after create failed: ${(error as Error).message}`));
      }
      return result;
    },
    async lockSpec(spec: EnvSpec, lockOptions: { signal?: AbortSignal } = {}): Promise<EnvLock> {
      const pm = await packageManager();
      const { makeLock } = await import("./lock/make-lock.js");
      return makeLock({ layout, baseEnv: env, logger, timeoutMs: options.createTimeoutMs, lockStaleMs, ...(lockOptions.signal ? { signal: lockOptions.signal } : {}) }, spec, pm);
    },
    acquireLease: (hash: string, holder: string): Promise<Lease> => acquireLease(layout, hash, holder, leaseTiming, hostname),
    async listEnvs(): Promise<CacheEntry[]> {
      const { listCachedEnvs, toCacheEntry } = await cacheList();
      return (await listCachedEnvs(layout, listOptions)).map(toCacheEntry);
    },
    async gc(given?: EvictionLimits): Promise<CacheEntry[]> {
      // Partial envs of crashed creates first: they hold disk but have no marker, so eviction cannot see them.
      const { sweepAbandonedPrefixes } = await import("./cache/sweep.js");
      await sweepAbandonedPrefixes(layout, { staleMs: lockStaleMs, logger, hostname, ...skew }).catch((error: unknown) => logger.warn(`sweeping partial envs failed: ${(error as Error).message}`));
      return (await evict()).evictEnvs(evictDeps, limits(given));
    },
    async removeEnv(hashOrPrefix: string, removeOptions: { force?: boolean } = {}): Promise<CacheEntry> {
      const [{ listCachedEnvs, toCacheEntry }, { deleteEnv, resolveEnv }] = await Promise.all([cacheList(), evict()]);
      const listed = await listCachedEnvs(layout, listOptions);
      const env = await resolveEnv(layout, hashOrPrefix, listed);
      if (env.inUse && !removeOptions.force) {
        throw new EnvError("E_ENV_IN_USE", `env ${env.hash.slice(0, 12)} (${env.prefix}) is in use by a running session; stop the session first or pass --force`, { details: { hash: env.hash, prefix: env.prefix } });
      }
      const removed = await deleteEnv(evictDeps, env, { force: removeOptions.force === true, waitMs: 30_000 });
      if (!removed) {
        throw new EnvError("E_ENV_IN_USE", `env ${env.hash.slice(0, 12)} (${env.prefix}) was taken into use or changed while removing it; retry, or pass --force`, { details: { hash: env.hash, prefix: env.prefix } });
      }
      return toCacheEntry(env);
    },
  };
}

async function detectOptions(options: EnvOptions, layout: CacheLayout, env: NodeJS.ProcessEnv) {
  const { micromambaBinPath } = await bootstrapModule();
  return {
    env,
    ...(options.packageManager !== undefined && options.packageManager !== "" ? { explicit: options.packageManager } : {}),
    extraCandidates: [micromambaBinPath(layout.root)],
  };
}

async function choosePackageManager(options: EnvOptions, layout: CacheLayout, env: NodeJS.ProcessEnv, deps: EnvManagerDeps, onProgress?: ProgressSink): Promise<PackageManagerInfo> {
  const { detectPackageManagers, probePackageManager, unsupportedReason } = await detect();
  const report: PackageManagerReport = await detectPackageManagers(await detectOptions(options, layout, env));
  if (report.chosen) return report.chosen;
  const unsupported = report.found.map((info) => `${info.path}: ${unsupportedReason(info)}`);
  if (!options.bootstrap) {
    throw new EnvError(
      "E_PACKAGE_MANAGER_NOT_FOUND",
      `no usable conda package manager found (searched: ${report.searched.join(", ")})${unsupported.length ? `; unusable: ${unsupported.join("; ")}` : ""}. ` +
        "Install micromamba or mamba, point the worker at one with --package-manager NAME|PATH (HYPHA_CONDA_PACKAGE_MANAGER), or allow the micromamba bootstrap (drop --no-bootstrap)",
      { details: { searched: report.searched } },
    );
  }
  const progress = createProgressReporter(onProgress);
  progress.report("bootstrapping", "info", "no package manager found: bootstrapping micromamba into the cache");
  const bootstrap = deps.bootstrap ?? (await bootstrapModule()).bootstrapMicromamba;
  const file = await bootstrap({ cacheDir: layout.root, ...(env.HYPHA_CONDA_MICROMAMBA_URL ? { baseUrl: env.HYPHA_CONDA_MICROMAMBA_URL } : {}), ...(onProgress ? { onProgress } : {}) });
  const info = await probePackageManager(file, env);
  progress.report("bootstrapping", "success", `using ${info.name} ${info.version} at ${info.path}`);
  return info;
}
