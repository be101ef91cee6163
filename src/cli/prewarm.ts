/** `prewarm <app-dir|manifest|environment.yml>...`: builds or confirms each env before traffic arrives. */
import { ConfigError, UsageError } from "../errors.js";
import { createEnvManager } from "../env/env-manager.js";
import { prewarmEnvs, type PrewarmResult } from "../env/operator/prewarm.js";
import { parseCount } from "../config.js";
import type { CommandContext, CommandDefinition } from "./command.js";
import { ENV_OPTION_SPECS, ENV_OPTIONS_HELP, resolveEnvOptions } from "./env-options.js";
import { createProgressRenderer } from "./render-progress.js";

const DEFAULT_CONCURRENCY = 2;
const MAX_CONCURRENCY = 64;

const USAGE = `Usage: hypha-conda-worker prewarm <app-dir|manifest|environment.yml>... [options]

Builds (or confirms) the conda environment of each source, so that starting those apps later is a
cache hit. A source is an app directory (with manifest.yaml, manifest.yml or manifest.json), a manifest
file, or an environment.yml. Sources with the same spec are built once.

Options:
  --concurrency N     envs ensured at once (default ${DEFAULT_CONCURRENCY}, or HYPHA_CONDA_PREWARM_CONCURRENCY);
                      creates that share the package cache are serialized anyway
  --json              one JSON object per env on stdout (JSON lines); progress stays on stderr
${ENV_OPTIONS_HELP}

Output (--json), one line per source:
  {"source","hash","prefix","status":"created"|"cached"|"failed","seconds","packageManager":{"name","version","path"},"error"?}

Exit status: 0 when every env is ready, 1 when any failed, 2 on bad usage, 130 when interrupted
(SIGINT/SIGTERM: running creates are stopped and their partial envs removed).
`;

function resolveConcurrency(values: Record<string, unknown>, env: NodeJS.ProcessEnv): number {
  const fromFlag = values.concurrency as string | undefined;
  const text = fromFlag ?? env.HYPHA_CONDA_PREWARM_CONCURRENCY;
  if (text === undefined || text === "") return DEFAULT_CONCURRENCY;
  const n = parseCount(text);
  if (n === undefined || n < 1 || n > MAX_CONCURRENCY) {
    const where = fromFlag !== undefined ? "--concurrency" : "HYPHA_CONDA_PREWARM_CONCURRENCY";
    throw new ConfigError(`${where} must be a whole number from 1 to ${MAX_CONCURRENCY}, got ${JSON.stringify(text)}.`);
  }
  return n;
}

function describeResult(r: PrewarmResult): string {
  if (r.status === "failed") return `FAILED  ${r.source}: ${r.error ?? "unknown error"}`;
  const tool = r.packageManager ? ` [${r.packageManager.name} ${r.packageManager.version}]` : "";
  return `${r.status === "created" ? "created" : "cached "} ${r.hash?.slice(0, 12)}  ${r.prefix}  (${r.seconds.toFixed(1)}s)${tool}  ${r.source}`;
}

/** Writes the JSON line of one result (stable key order; packageManager and error only when present). */
function toJsonLine(r: PrewarmResult): string {
  return `${JSON.stringify({
    source: r.source,
    hash: r.hash,
    prefix: r.prefix,
    status: r.status,
    seconds: r.seconds,
    ...(r.packageManager ? { packageManager: { name: r.packageManager.name, version: r.packageManager.version, path: r.packageManager.path } } : {}),
    ...(r.error !== undefined ? { error: r.error } : {}),
  })}\n`;
}

async function run(values: Record<string, unknown>, positionals: string[], ctx: CommandContext): Promise<number> {
  if (positionals.length === 0) throw new UsageError("prewarm: give at least one app directory, manifest file or environment.yml");
  const concurrency = resolveConcurrency(values, ctx.env);
  const options = resolveEnvOptions(values, ctx.env);
  const manager = createEnvManager(options, { env: ctx.env });
  const renderer = createProgressRenderer({ stream: ctx.stderr, isTTY: ctx.isTTY });
  // SIGINT/SIGTERM (Ctrl-C, a cron timeout, docker stop) abort the creates: the env layer kills the tool
  // and removes the partial prefix, so an interrupted prewarm leaves nothing half-built.
  const interrupt = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => interrupt.abort(new Error(`prewarm interrupted by ${signal}`));
  // `on`, not `once`: proper-lockfile's signal-exit, loaded with the first lock, re-raises a signal that no
  // other listener is left to handle, which would kill prewarm before it cleans up.
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let results: PrewarmResult[];
  try {
    results = await prewarmEnvs(positionals, manager, {
      concurrency,
      specOptions: options,
      onProgress: (source, event) => renderer.update(source, event),
      signal: interrupt.signal,
    });
  } finally {
    renderer.close();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  for (const r of results) {
    if (values.json) ctx.stdout.write(toJsonLine(r));
    else ctx.stdout.write(`${describeResult(r)}\n`);
  }
  const failed = results.filter((r) => r.status === "failed").length;
  if (!values.json) ctx.stdout.write(`${results.length - failed} of ${results.length} env(s) ready${failed ? `, ${failed} failed` : ""}\n`);
  if (interrupt.signal.aborted) return 130;
  return failed > 0 ? 1 : 0;
}

export const prewarmCommand: CommandDefinition = {
  name: "prewarm",
  summary: "build or confirm the envs of apps before traffic arrives",
  usage: USAGE,
  options: { ...ENV_OPTION_SPECS, concurrency: { type: "string" }, json: { type: "boolean" } },
  allowPositionals: true,
  run,
};
