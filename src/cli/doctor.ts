/** `doctor [--json]`: what this machine offers the worker — package managers, cache, locks, leases, python3. */
import { createEnvManager } from "../env/env-manager.js";
import { gatherDoctorReport, type DoctorReport } from "../env/operator/doctor.js";
import type { CommandContext, CommandDefinition } from "./command.js";
import { formatBytes, formatAge } from "./cache-format.js";
import { describeHolderHost } from "../env/cache/lock-state.js";
import { DEFAULT_MAX_CLOCK_SKEW_MS } from "../env/cache/lock-staleness.js";
import { ENV_OPTION_SPECS, ENV_OPTIONS_HELP, resolveEnvOptions } from "./env-options.js";

const USAGE = `Usage: hypha-conda-worker doctor [--json] [options]

Reports the package managers found (name, version, path) and the one chosen, the cache directory (writable?
free disk), locks and leases currently held, python3 and node. Never bootstraps or builds anything.
Exit status: 0 when the worker can build envs here (a package manager, or bootstrap allowed, and a writable
cache), 1 otherwise.

Options:
  --json   the report as one JSON object on stdout
${ENV_OPTIONS_HELP}
`;

/** Renders the report for humans. */
export function formatDoctorReport(r: DoctorReport, now = Date.now()): string {
  const out: string[] = [];
  const pm = r.packageManagers;
  out.push(`Host: ${r.host} (recorded in locks and leases; HYPHA_CONDA_HOSTNAME overrides)`);
  out.push("Package managers:");
  if (pm.found.length === 0) out.push(`  none found (searched: ${pm.searched.join(", ") || "-"})`);
  for (const p of pm.found) {
    const chosen = pm.chosen && pm.chosen.path === p.path ? "  <- chosen" : "";
    out.push(`  ${p.name.padEnd(10)} ${p.version.padEnd(10)} ${p.path}${chosen}`);
  }
  if (pm.error) out.push(`  detection failed: ${pm.error}`);
  out.push("Cache:");
  out.push(`  dir        ${r.cache.dir}${r.cache.exists ? "" : " (created by this check)"}`);
  out.push(`  writable   ${r.cache.writable ? "yes" : `NO (${r.cache.writeError ?? "unknown"})`}`);
  out.push(`  free disk  ${formatBytes(r.cache.freeBytes)} of ${formatBytes(r.cache.totalBytes)}`);
  out.push(`  envs       ${r.cache.envCount ?? "?"}`);
  out.push(`  clock      ${formatClockOffset(r.cache.clockOffsetMs)}`);
  if (r.cache.mount) out.push(`  mount      ${formatMount(r.cache.mount)}`);
  out.push(`Locks held: ${r.locks.length === 0 ? "none" : ""}`);
  for (const l of r.locks) {
    const holder = l.holder ? ` by ${describeHolderHost(l.holder, r.host)} since ${l.holder.since}` : "";
    const doing = typeof l.holder?.state === "string" ? ` ${l.holder.state}` : "";
    const stale = l.stale ? ", STALE: its holder is gone; the next user takes it over" : "";
    out.push(`  ${l.name}${doing}${holder} (refreshed ${formatAge(l.updatedAt, now)}${stale})`);
  }
  out.push(`Leases: ${r.leases.length === 0 ? "none" : ""}`);
  for (const l of r.leases) {
    out.push(`  ${l.hash.slice(0, 12)}  ${l.holder}  ${describeHolderHost(l, r.host)}  ${l.live ? "live" : "dead (ignored)"}`);
  }
  out.push(`python3: ${r.python3.found ? `${r.python3.version ?? "?"} at ${r.python3.path ?? "?"}` : `not found (${r.python3.error ?? ""})`}`);
  out.push(`node: ${r.node.version} (${r.node.platform}-${r.node.arch})`);
  out.push(r.ok ? "OK: this machine can build and run envs." : "NOT OK: see above (a package manager or bootstrap, and a writable cache, are needed).");
  return `${out.join("\n")}\n`;
}

/** A measured offset between this host's clock and the cache filesystem's, against the skew bound. */
function formatClockOffset(offsetMs: number | null): string {
  if (offsetMs === null) return "offset to the cache filesystem not measured";
  const seconds = (offsetMs / 1000).toFixed(1);
  if (Math.abs(offsetMs) > DEFAULT_MAX_CLOCK_SKEW_MS / 2) {
    return `this host is ${seconds} s off the cache filesystem's clock: hosts sharing a cache must stay within ${DEFAULT_MAX_CLOCK_SKEW_MS / 1000} s of each other, each within ${DEFAULT_MAX_CLOCK_SKEW_MS / 2000} s of the file server (run NTP)`;
  }
  return offsetMs === 0 ? "in step with the cache filesystem (within 1 s)" : `${seconds} s off the cache filesystem (within the ${DEFAULT_MAX_CLOCK_SKEW_MS / 1000} s bound)`;
}

/** The cache's filesystem; on NFS, whether its directory attribute cache is short enough for lock heartbeats. */
function formatMount(mount: NonNullable<DoctorReport["cache"]["mount"]>): string {
  const base = `${mount.type} at ${mount.mountPoint}`;
  const cached = mount.dirAttributeCacheSeconds;
  if (cached === undefined) return base;
  if (cached <= 1) return `${base}, directory attributes cached ${cached} s (fine for lock heartbeats)`;
  return `${base}, directory attributes cached up to ${cached} s: lock ages shown may lag and a holder paused past the stale time notices a takeover late; actimeo=1 (or noac) recommended`;
}

async function run(values: Record<string, unknown>, _positionals: string[], ctx: CommandContext): Promise<number> {
  const manager = createEnvManager(resolveEnvOptions(values, ctx.env), { env: ctx.env });
  const report = await gatherDoctorReport(manager, { env: ctx.env });
  if (values.json) ctx.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else ctx.stdout.write(formatDoctorReport(report));
  return report.ok ? 0 : 1;
}

export const doctorCommand: CommandDefinition = {
  name: "doctor",
  summary: "check package managers, cache, locks, leases and python3",
  usage: USAGE,
  options: { ...ENV_OPTION_SPECS, json: { type: "boolean" } },
  run,
};
