/**
 * Where everything lives under the cache root. One function owns the layout so ensure-env, eviction,
 * `cache export/import` and `doctor` agree on it.
 */
import path from "node:path";
import { EnvError } from "../../errors.js";

export interface CacheLayout {
  root: string;
  /** Built environments: `<root>/envs/<hint>-<16 hex>`. */
  envsDir: string;
  /** Per-hash lock directories (`<hash>.lock`), their holder / in-progress records (`<hash>.lock.json`), `pkgs.lock`. */
  locksDir: string;
  /** Leases: `<root>/leases/<hash>/<holder-id>.json`. */
  leasesDir: string;
  /** The package cache handed to the tool (CONDA_PKGS_DIRS / MAMBA_PKGS_DIRS). */
  pkgsDir: string;
  /** micromamba / mamba 2 root prefix (`-r`). */
  mambaRootDir: string;
  /** A bootstrapped micromamba lives here. */
  binDir: string;
}

const HASH_PATTERN = /^[0-9a-f]{64}$/;

/** Returns the cache layout under `cacheDir` (an absolute path). */
export function cacheLayout(cacheDir: string): CacheLayout {
  if (typeof cacheDir !== "string" || !path.isAbsolute(cacheDir) || cacheDir.includes("\0")) {
    throw new EnvError("E_CONFIG", `cache directory ${JSON.stringify(cacheDir)} is not an absolute path; pass an absolute --cache-dir or HYPHA_CONDA_CACHE_DIR`);
  }
  const root = path.resolve(cacheDir);
  return {
    root,
    envsDir: path.join(root, "envs"),
    locksDir: path.join(root, "locks"),
    leasesDir: path.join(root, "leases"),
    pkgsDir: path.join(root, "pkgs"),
    mambaRootDir: path.join(root, "mamba-root"),
    binDir: path.join(root, "bin"),
  };
}

/** Throws unless `hash` is a full 64-hex spec hash (it becomes part of file names). */
export function assertSpecHash(hash: string): void {
  if (typeof hash !== "string" || !HASH_PATTERN.test(hash)) {
    throw new EnvError("E_CACHE", `${JSON.stringify(hash)} is not an environment hash (64 lower-case hex digits); use the hash shown by 'cache list'`);
  }
}

/** Returns true when `value` is a full 64-hex spec hash. */
export function isSpecHash(value: string): boolean {
  return HASH_PATTERN.test(value);
}

/** The prefix of the env whose directory name is `dirName` (from envDirName). */
export function envPrefixFor(layout: CacheLayout, dirName: string): string {
  if (!/^(?:[a-z0-9][a-z0-9_.-]{0,63}-)?[0-9a-f]{16}$/.test(dirName)) {
    throw new EnvError("E_CACHE", `refusing env directory name ${JSON.stringify(dirName)}: expected "<hint>-<16 hex>"`);
  }
  return path.join(layout.envsDir, dirName);
}

export function envLockPath(layout: CacheLayout, hash: string): string {
  return path.join(layout.locksDir, `${hash}.lock`);
}

export function pkgsLockPath(layout: CacheLayout): string {
  return path.join(layout.locksDir, "pkgs.lock");
}

export function leaseDirFor(layout: CacheLayout, hash: string): string {
  return path.join(layout.leasesDir, hash);
}

/** Absolute path of the env's python (POSIX layout). */
export function pythonPathOf(prefix: string): string {
  return path.join(prefix, "bin", "python");
}
