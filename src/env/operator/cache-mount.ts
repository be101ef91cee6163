/**
 * Which filesystem holds the cache, and, for NFS, how long its client caches directory attributes (NFS's
 * default: acdirmin 30 s, acdirmax 60 s). Locks keep a second heartbeat in file content for that reason, but
 * lock directory mtimes (the ages doctor shows, a paused holder noticing a takeover) still lag by that much,
 * so `doctor` reports it and suggests actimeo=1.
 */
import { readFile, realpath } from "node:fs/promises";
import path from "node:path";

export interface CacheMount {
  mountPoint: string;
  type: string;
  /** NFS only: the longest time the client keeps a directory's attributes (0 with noac), when known. */
  dirAttributeCacheSeconds?: number;
}

const NFS_DEFAULT_ACDIRMAX_SECONDS = 60;

/** Undoes the octal escapes /proc/mounts uses for spaces and the like. */
const unescape = (field: string) => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));

/** The mount (from /proc/mounts text) with the longest mount point containing `dir`. */
export function findCacheMount(mountsText: string, dir: string): CacheMount | undefined {
  let best: { point: string; type: string; options: string } | undefined;
  for (const line of mountsText.split("\n")) {
    const [, point, type, options] = line.split(" ");
    if (!point || !type || options === undefined) continue;
    const mountPoint = unescape(point);
    const inside = dir === mountPoint || dir.startsWith(mountPoint.endsWith("/") ? mountPoint : `${mountPoint}/`);
    if (inside && (!best || mountPoint.length >= best.point.length)) best = { point: mountPoint, type, options };
  }
  if (!best) return undefined;
  const mount: CacheMount = { mountPoint: best.point, type: best.type };
  if (best.type.startsWith("nfs")) {
    const opts = new Map(best.options.split(",").map((o) => [o.split("=")[0]!, o.split("=")[1]] as const));
    // Linux prints acdirmax only when it differs from its default, 60 s (fs/nfs/super.c nfs_show_mount_options).
    const acdirmax = opts.get("acdirmax") ?? opts.get("actimeo") ?? String(NFS_DEFAULT_ACDIRMAX_SECONDS);
    if (opts.has("noac")) mount.dirAttributeCacheSeconds = 0;
    else if (/^\d+$/.test(acdirmax)) mount.dirAttributeCacheSeconds = Number(acdirmax);
  }
  return mount;
}

/** The cache's mount on this machine (Linux /proc/mounts), or undefined when it cannot be told. */
export async function cacheMountOf(cacheDir: string): Promise<CacheMount | undefined> {
  try {
    const dir = await realpath(cacheDir).catch(() => path.resolve(cacheDir));
    return findCacheMount(await readFile("/proc/mounts", "utf8"), dir);
  } catch {
    return undefined;
  }
}
