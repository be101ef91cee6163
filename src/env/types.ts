/**
 * The environment layer's public contract. Sessions, the worker and the CLI depend only on these types;
 * everything else under src/env/ is an implementation detail.
 */
import type { ProgressSink } from "../progress.js";
import type { EnvLock } from "./lock/lock-file.js";

export type PackageManagerName = "conda" | "mamba" | "micromamba";

/** The package manager chosen once at start-up. */
export interface PackageManagerInfo {
  name: PackageManagerName;
  /** Version as the tool reports it, e.g. "25.11.1", "2.0.5", "1.5.12". */
  version: string;
  /** Absolute path of the executable. */
  path: string;
  /** mamba 1.x only: the version of the conda it wraps (its `env create` is conda's). */
  condaVersion?: string;
}

/** The canonical, normalised description of an environment. Its sha256 is the cache key. */
export interface EnvSpec {
  schema: number;
  /** Channel names or URLs after --channel-map, in priority order. */
  channels: string[];
  /** Conda match specs, normalised and sorted. */
  conda: string[];
  /** Pip requirement lines, normalised and sorted. */
  pip: string[];
  /** Environment variables from environment.yml `variables:`, keys sorted. */
  variables: Record<string, string>;
  /** conda platform subdir, e.g. "linux-64". */
  subdir: string;
  /** The app's lock, checked against this spec: the env is built from its explicit list and the cache key hashes it. */
  lock?: EnvLock;
  /** Why the app's lock was not used (the operator's --lock-mismatch spec fallback); not hashed. */
  lockNote?: string;
}

/** Operator settings of the environment layer (from flags, env vars, or the library caller). */
export interface EnvOptions {
  /** Root of the cache: envs/, locks/, leases/, pkgs/, bin/ live under it. */
  cacheDir: string;
  /** A package manager name ("mamba", "micromamba", "conda") or an absolute path; detected when absent. */
  packageManager?: string;
  /** Download micromamba into the cache when no package manager is found. */
  bootstrap: boolean;
  /** Channel name -> URL mirror map; the mapped URL is what is hashed and used. */
  channelMap: Record<string, string>;
  /** When set, only these channels (names or URLs, checked before and after mapping) may be used. */
  allowedChannels?: string[];
  /** Default channels when a manifest names none. */
  defaultChannels: string[];
  /** Allow pip options such as --index-url, -e, --find-links in `pip:` items. */
  allowPipOptions: boolean;
  /** Kill a create that takes longer than this. */
  createTimeoutMs: number;
  /** Eviction limits; undefined means unlimited. */
  cacheMaxEnvs?: number;
  cacheMaxSizeBytes?: number;
  cacheMaxAgeMs?: number;
  /** A lock that does not fit this worker (channels, platform, gone package): "error" (default) or build from the spec. */
  lockMismatch?: "error" | "spec";
  /** compile (install time) solves the app into a lock file; false: validate only. Default true. */
  lockAtInstall?: boolean;
  /** Folder URL holding micromamba-<subdir> and its .sha256 for bootstrap (a mirror); official release when absent. */
  micromambaUrl?: string;
}

export interface EnsureEnvOptions {
  onProgress?: ProgressSink;
  signal?: AbortSignal;
}

/** A ready environment. */
export interface EnvResult {
  hash: string;
  prefix: string;
  /** Absolute path of the env's python. */
  pythonPath: string;
  /** Variables that activating the env sets (PATH, CONDA_PREFIX, activate.d exports...). */
  activation: Record<string, string>;
  status: "created" | "cached";
  seconds: number;
  /** The tool that built it (undefined on a hit: no tool was consulted). */
  packageManager?: PackageManagerInfo;
}

/** A hold on an env that eviction must respect; survives nothing but its holder's liveness. */
export interface Lease {
  readonly hash: string;
  release(): Promise<void>;
}

/** One cached environment as `cache list` shows it. */
export interface CacheEntry {
  hash: string;
  prefix: string;
  dependencies: string[];
  pip: string[];
  channels: string[];
  createdAt: string;
  lastUsedAt: string;
  sizeBytes: number;
  inUse: boolean;
  /** The live leases on it: which session on which host uses it (a shared cache serves several hosts). */
  leases: CacheLeaseInfo[];
  /** Who holds its lock right now (deleting or rebuilding it), or null. */
  lock: CacheLockInfo | null;
}

/** A live lease as `cache list` shows it. */
export interface CacheLeaseInfo {
  holder: string;
  pid: number;
  hostname: string;
  heartbeatAt: string;
}

/** A held lock as `cache list` shows it. */
export interface CacheLockInfo {
  pid: number;
  hostname: string;
  since: string;
  state?: string;
  /** When its heartbeat last moved. */
  updatedAt: string;
  stale: boolean;
}

/** Limits for eviction; undefined fields mean unlimited. */
export interface EvictionLimits {
  maxEnvs?: number;
  maxSizeBytes?: number;
  maxAgeMs?: number;
}

/** What `doctor` reports about package managers. */
export interface PackageManagerReport {
  found: PackageManagerInfo[];
  chosen?: PackageManagerInfo;
  /** Names and places that were searched, for the "none found" error. */
  searched: string[];
}

/**
 * The environment layer as one object: created once per process (detection happens once), shared by every
 * session, the CLI commands and the prewarm script. Implemented in src/env/env-manager.ts.
 */
export interface EnvManager {
  readonly options: EnvOptions;
  /** Detects (or bootstraps) the package manager once and memoises it. */
  packageManager(onProgress?: ProgressSink): Promise<PackageManagerInfo>;
  /** Lists every package manager found, and the chosen one (for `doctor`); never bootstraps. */
  detectPackageManagers(): Promise<PackageManagerReport>;
  /** Returns a ready env for the spec: lock-free hit, or a locked, verified create. */
  ensureEnv(spec: EnvSpec, options?: EnsureEnvOptions): Promise<EnvResult>;
  /** Solves the spec with the package manager (dry run, no env created) into a lock of exact packages. */
  lockSpec(spec: EnvSpec, options?: { signal?: AbortSignal }): Promise<EnvLock>;
  /** Takes a lease that keeps eviction away from the env while the holder lives. */
  acquireLease(hash: string, holder: string): Promise<Lease>;
  listEnvs(): Promise<CacheEntry[]>;
  /** Evicts least-recently-used, unleased envs beyond the limits (defaults: the options'); returns what was removed. */
  gc(limits?: EvictionLimits): Promise<CacheEntry[]>;
  /** Removes one env by hash (or unique hash prefix) or prefix path; refuses a leased env unless forced. */
  removeEnv(hashOrPrefix: string, options?: { force?: boolean }): Promise<CacheEntry>;
}
