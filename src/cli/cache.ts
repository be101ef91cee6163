/** `cache list|gc|remove|export|import`: see and prune what is cached, move envs between machines. */
import { resolve } from "node:path";
import { ConfigError, UsageError } from "../errors.js";
import { parseCount, parseDuration, parseSize } from "../config.js";
import { exportEnv, importEnv } from "../env/cache/archive.js";
import { createEnvManager } from "../env/env-manager.js";
import type { EnvManager, EvictionLimits } from "../env/types.js";
import type { CommandContext, CommandDefinition, OptionSpec } from "./command.js";
import { formatBytes, formatCacheTable, formatLocks, formatRemoved } from "./cache-format.js";
import { cacheLayout } from "../env/cache/cache-layout.js";
import { listLockStates } from "../env/cache/lock-state.js";
import { ENV_OPTION_SPECS, ENV_OPTIONS_HELP, resolveEnvOptions } from "./env-options.js";

const USAGE = `Usage: hypha-conda-worker cache <subcommand> [options]

Subcommands:
  list [--json]                      the cached envs: hash, size, last used, in use (by which hosts),
                                     dependencies, then the locks held (creates in progress: by which
                                     pid on which host); --json: an array of {hash, prefix, dependencies,
                                     pip, channels, createdAt, lastUsedAt, sizeBytes, inUse, leases
                                     [{holder, pid, hostname, heartbeatAt}], lock {pid, hostname, since,
                                     state, updatedAt, stale} | null}; creates in progress: doctor --json
  gc [--max-envs N] [--max-size SIZE] [--max-age DURATION] [--json]
                                     evicts least-recently-used envs beyond the limits (defaults: the
                                     --cache-max-* settings); never an env in use; prints what was removed;
                                     also removes partial envs left by crashed creates
  remove <hash|hash-prefix|prefix> [--force] [--json]
                                     removes one env; refuses an env in use unless --force
  export <hash> -o FILE.tar.gz       writes the env (prefix, marker) and a small manifest to a gzip tar
  import FILE.tar.gz [--force] [--allow-external-links]
                                     imports an exported env; needs the same cache path and platform
                                     (envs are not relocatable); --force replaces an existing unused env;
                                     --allow-external-links accepts symlinks to absolute paths outside the
                                     env (venv-style pythons); entries escaping the env are always refused

SIZE: 500MB, 10G, 1.5GiB (binary multiples). DURATION: 90 (seconds), 45s, 30m, 12h, 7d, 2w.

${ENV_OPTIONS_HELP}
`;

const OWN_OPTIONS: OptionSpec = {
  json: { type: "boolean" },
  force: { type: "boolean" },
  output: { type: "string", short: "o" },
  "max-envs": { type: "string" },
  "max-size": { type: "string" },
  "max-age": { type: "string" },
  "allow-external-links": { type: "boolean" },
};

/** Which of our own flags each subcommand accepts (env flags are accepted by all). */
const ACCEPTS: Record<string, string[]> = {
  list: ["json"],
  gc: ["json", "max-envs", "max-size", "max-age"],
  remove: ["json", "force"],
  export: ["json", "output"],
  import: ["json", "force", "allow-external-links"],
};
const ARITY: Record<string, number> = { list: 0, gc: 0, remove: 1, export: 1, import: 1 };

function checkUsage(sub: string, values: Record<string, unknown>, args: string[]): void {
  const accepted = ACCEPTS[sub];
  if (!accepted) throw new UsageError(`cache: unknown subcommand ${JSON.stringify(sub)}; use list, gc, remove, export or import`);
  for (const flag of Object.keys(OWN_OPTIONS)) {
    if (values[flag] !== undefined && !accepted.includes(flag)) throw new UsageError(`cache ${sub}: option --${flag} does not apply here`);
  }
  if (args.length !== ARITY[sub]) {
    const want = ARITY[sub] === 0 ? "no arguments" : "exactly one argument";
    throw new UsageError(`cache ${sub}: takes ${want}, got ${args.length}`);
  }
}

function parseLimit<T>(values: Record<string, unknown>, flag: string, parse: (t: string) => T | undefined, example: string): T | undefined {
  const text = values[flag] as string | undefined;
  if (text === undefined) return undefined;
  const value = parse(text);
  if (value === undefined) throw new ConfigError(`--${flag} ${JSON.stringify(text)} is not valid; use e.g. ${example}.`);
  return value;
}

/** Flags override the --cache-max-* defaults; with no flags the manager's own limits apply. */
function gcLimits(values: Record<string, unknown>, manager: EnvManager): EvictionLimits {
  const o = manager.options;
  const maxEnvs = parseLimit(values, "max-envs", parseCount, "--max-envs 20") ?? o.cacheMaxEnvs;
  const maxSizeBytes = parseLimit(values, "max-size", parseSize, "--max-size 50G") ?? o.cacheMaxSizeBytes;
  const maxAgeMs = parseLimit(values, "max-age", parseDuration, "--max-age 30d") ?? o.cacheMaxAgeMs;
  return {
    ...(maxEnvs !== undefined ? { maxEnvs } : {}),
    ...(maxSizeBytes !== undefined ? { maxSizeBytes } : {}),
    ...(maxAgeMs !== undefined ? { maxAgeMs } : {}),
  };
}

/** A prefix given as a relative path (it contains a slash) is taken relative to the current directory. */
const envRef = (arg: string) => (arg.includes("/") ? resolve(arg) : arg);

const writeJson = (ctx: CommandContext, value: unknown) => ctx.stdout.write(`${JSON.stringify(value, null, 2)}\n`);

async function run(values: Record<string, unknown>, positionals: string[], ctx: CommandContext): Promise<number> {
  const [sub, ...args] = positionals;
  if (sub === undefined) throw new UsageError("cache: give a subcommand: list, gc, remove, export or import");
  checkUsage(sub, values, args);
  const manager = createEnvManager(resolveEnvOptions(values, ctx.env), { env: ctx.env });
  const json = Boolean(values.json);
  switch (sub) {
    case "list": {
      const entries = await manager.listEnvs();
      if (json) writeJson(ctx, entries);
      else ctx.stdout.write(formatCacheTable(entries) + formatLocks(await listLockStates(cacheLayout(manager.options.cacheDir).locksDir)));
      return 0;
    }
    case "gc": {
      const limits = gcLimits(values, manager);
      const removed = await manager.gc(limits);
      if (json) writeJson(ctx, removed);
      else ctx.stdout.write(formatRemoved(removed));
      return 0;
    }
    case "remove": {
      const removed = await manager.removeEnv(envRef(args[0]!), { force: Boolean(values.force) });
      if (json) writeJson(ctx, removed);
      else ctx.stdout.write(formatRemoved([removed]));
      return 0;
    }
    case "export": {
      if (typeof values.output !== "string" || values.output === "") throw new UsageError("cache export: give the archive path with -o FILE.tar.gz");
      const result = await exportEnv(manager, envRef(args[0]!), resolve(values.output));
      if (json) writeJson(ctx, result);
      else {
        ctx.stdout.write(`exported ${result.hash.slice(0, 12)} (${result.prefix}) to ${result.file}, ${formatBytes(result.bytes)}\n`);
        if (result.externalLinks.length > 0) {
          const sample = result.externalLinks.slice(0, 3).map((l) => `${l.path} -> ${l.target}`).join(", ");
          ctx.stderr.write(`note: the env has ${result.externalLinks.length} symlink(s) to paths outside it (${sample}); importing it needs --allow-external-links\n`);
        }
      }
      return 0;
    }
    default: {
      const result = await importEnv(manager, resolve(args[0]!), { force: Boolean(values.force), allowExternalLinks: Boolean(values["allow-external-links"]) });
      if (json) writeJson(ctx, result);
      else ctx.stdout.write(`imported ${result.hash.slice(0, 12)} to ${result.prefix}${result.replaced ? " (replaced the existing env)" : ""}\n`);
      return 0;
    }
  }
}

export const cacheCommand: CommandDefinition = {
  name: "cache",
  summary: "list, gc, remove, export or import cached envs",
  usage: USAGE,
  options: { ...ENV_OPTION_SPECS, ...OWN_OPTIONS },
  allowPositionals: true,
  run,
};
