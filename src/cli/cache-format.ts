/** Human formatting for the operator commands: sizes, ages, and the `cache list` table. */
import type { CacheEntry } from "../env/types.js";
import type { LockState } from "../env/cache/lock-state.js";

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/** 1536 → "1.5 KiB" (binary multiples, like the size flags). */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return "?";
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

/** An ISO time as "5m ago", "3h ago", "2d ago" relative to `now`. */
export function formatAge(iso: string, now = Date.now()): string {
  const then = Date.parse(iso);
  if (!Number.isFinite(then)) return "?";
  const s = Math.max(0, Math.round((now - then) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

/** The deps column: conda specs, then pip specs marked `pip:`. */
function depsOf(entry: CacheEntry): string {
  return [...entry.dependencies, ...entry.pip.map((p) => `pip:${p}`)].join(" ");
}

/** "yes (host-a, host-b ×2)": which hosts hold live leases (sorted by name), or "no". */
function inUseOf(entry: CacheEntry): string {
  if (!entry.inUse) return "no";
  const counts = new Map<string, number>();
  for (const lease of entry.leases) counts.set(lease.hostname, (counts.get(lease.hostname) ?? 0) + 1);
  const hosts = [...counts].sort(([a], [b]) => a.localeCompare(b));
  return `yes (${hosts.map(([host, n]) => (n > 1 ? `${host} ×${n}` : host)).join(", ")})`;
}

/** Renders entries as an aligned table; the last column (deps) is not padded. */
export function formatCacheTable(entries: CacheEntry[], now = Date.now()): string {
  if (entries.length === 0) return "no cached envs\n";
  const rows = [
    ["HASH", "SIZE", "LAST USED", "IN USE", "DEPENDENCIES"],
    ...entries.map((e) => [e.hash.slice(0, 12), formatBytes(e.sizeBytes), formatAge(e.lastUsedAt, now), inUseOf(e), depsOf(e)]),
  ];
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  const lines = rows.map((r) => r.map((cell, col) => (col === r.length - 1 ? cell : cell.padEnd(widths[col]!))).join("  ").trimEnd());
  const total = entries.reduce((sum, e) => sum + e.sizeBytes, 0);
  return `${lines.join("\n")}\n${entries.length} env(s), ${formatBytes(total)}\n`;
}

/** One line per removed env, for `cache gc` and `cache remove`. */
export function formatRemoved(entries: CacheEntry[]): string {
  if (entries.length === 0) return "nothing removed\n";
  const lines = entries.map((e) => `removed ${e.hash.slice(0, 12)}  ${formatBytes(e.sizeBytes)}  ${e.prefix}`);
  const total = entries.reduce((sum, e) => sum + e.sizeBytes, 0);
  return `${lines.join("\n")}\n${entries.length} env(s) removed, ${formatBytes(total)} freed\n`;
}

/** One line per held lock ("being created by pid P on H"), for `cache list`; empty when none. */
export function formatLocks(locks: LockState[], now = Date.now()): string {
  if (locks.length === 0) return "";
  const lines = locks.map((l) => {
    const what = l.name === "pkgs" ? "package cache" : l.name.slice(0, 12);
    const doing = typeof l.holder?.state === "string" ? l.holder.state : "locked";
    const by = l.holder ? `pid ${l.holder.pid} on ${l.holder.hostname}` : "an unknown holder";
    return `  ${what}  ${doing} by ${by}, heartbeat ${formatAge(l.updatedAt, now)}${l.stale ? " (STALE: holder gone, taken over on next use)" : ""}`;
  });
  return `Locks:\n${lines.join("\n")}\n`;
}
