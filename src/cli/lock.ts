/** `lock <app-dir>`: solves the app's env with this machine's package manager and writes its lock file. */
import { promises as fs } from "node:fs";
import path from "node:path";
import { UsageError } from "../errors.js";
import { createEnvManager } from "../env/env-manager.js";
import { specFromSource } from "../env/operator/prewarm-source.js";
import { hashEnvSpec, unlockedSpec } from "../env/spec/hash.js";
import { formatLock, LOCK_FILE_NAME } from "../env/lock/lock-file.js";
import type { CommandContext, CommandDefinition } from "./command.js";
import { ENV_OPTION_SPECS, ENV_OPTIONS_HELP, resolveEnvOptions } from "./env-options.js";

const USAGE = `Usage: hypha-conda-worker lock <app-dir> [options]

Solves the app's dependencies (manifest or environment.yml) with the package manager, as a dry run that
creates nothing, and writes ${LOCK_FILE_NAME} into the app directory: the exact conda packages (URL,
name, version, build, md5/sha256) and the pip requirements pinned to exact versions. Workers then build
the env from that list without solving, so every host gets the same packages. Install time does the
same on the worker (compile); a lock made here that fits the worker's channels and platform is kept.

Options:
  --json              print the lock summary as JSON on stdout
${ENV_OPTIONS_HELP}

Output (--json): {"path","specHash","hash","subdir","channels","conda":[{name,version,build,url,md5?,sha256?}],"pip":[{name,version}],"lockedWith"}
Exit status: 0 when the lock was written, 1 when solving failed, 2 on bad usage.
`;

async function run(values: Record<string, unknown>, positionals: string[], ctx: CommandContext): Promise<number> {
  if (positionals.length !== 1) throw new UsageError("lock: give exactly one app directory");
  const appDir = path.resolve(positionals[0]!);
  const info = await fs.stat(appDir).catch(() => undefined);
  if (!info?.isDirectory()) throw new UsageError(`lock: ${appDir} is not a directory; give the app's directory (the one with manifest.yaml)`);
  const options = resolveEnvOptions(values, ctx.env);
  // An existing lock is replaced, whatever it was made for.
  const spec = unlockedSpec(await specFromSource(appDir, { ...options, lockMismatch: "spec" }));
  const manager = createEnvManager(options, { env: ctx.env });
  const lock = await manager.lockSpec(spec);
  const target = path.join(appDir, LOCK_FILE_NAME);
  const tmp = `${target}.${process.pid}.tmp`;
  await fs.writeFile(tmp, formatLock(lock), { mode: 0o644 });
  await fs.rename(tmp, target);
  const hash = hashEnvSpec({ ...spec, lock });
  if (values.json) {
    ctx.stdout.write(`${JSON.stringify({ path: target, specHash: lock.specHash, hash, subdir: lock.subdir, channels: lock.channels, conda: lock.conda, pip: lock.pip, lockedWith: lock.lockedWith })}\n`);
  } else {
    ctx.stdout.write(`locked ${lock.conda.length} conda and ${lock.pip.length} pip package(s) for ${lock.subdir} with ${lock.lockedWith.name} ${lock.lockedWith.version}\n`);
    for (const p of lock.conda) ctx.stdout.write(`  ${p.name} ${p.version} ${p.build}  ${p.url}\n`);
    for (const p of lock.pip) ctx.stdout.write(`  pip ${p.name}==${p.version}\n`);
    ctx.stdout.write(`wrote ${target} (env ${hash.slice(0, 12)})\n`);
  }
  return 0;
}

export const lockCommand: CommandDefinition = {
  name: "lock",
  summary: "solve an app's env into hypha-conda.lock.json (exact packages, no solve at start)",
  usage: USAGE,
  options: { ...ENV_OPTION_SPECS, json: { type: "boolean" } },
  allowPositionals: true,
  run,
};
