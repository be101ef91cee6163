/** Making a lock for a spec: the conda solve (dry run), then pip pinned on top of it. Nothing is cached. */
import { hashEnvSpec, unlockedSpec } from "../spec/hash.js";
import type { EnvSpec, PackageManagerInfo } from "../types.js";
import { LOCK_FORMAT, validateLock, type EnvLock } from "./lock-file.js";
import { pinPipRequirements } from "./pip-pins.js";
import { solveCondaPackages, type SolveContext } from "./solve-lock.js";

export async function makeLock(ctx: SolveContext & { lockStaleMs: number }, spec: EnvSpec, pm: PackageManagerInfo, now = new Date()): Promise<EnvLock> {
  const base = unlockedSpec(spec);
  const conda = await solveCondaPackages(ctx, base, pm);
  const lock: EnvLock = {
    format: LOCK_FORMAT,
    specHash: hashEnvSpec(base),
    subdir: base.subdir,
    // As the spec has them (a `nodefaults` entry included): start compares the two lists as they are.
    channels: [...base.channels],
    conda,
    pip: [],
    lockedWith: { name: pm.name, version: pm.version },
    createdAt: now.toISOString(),
  };
  lock.pip = await pinPipRequirements(ctx, base, lock, pm);
  return validateLock(lock);
}
