/**
 * Checks an app's lock against the spec this worker computes for the app now (its channel map, platform
 * and the app's dependencies) and attaches it; a lock that does not fit is a typed error that says how to
 * re-lock, or, with the operator's `--lock-mismatch spec`, the spec is built as if there were no lock.
 */
import { EnvError } from "../../errors.js";
import { hashEnvSpec, unlockedSpec } from "../spec/hash.js";
import type { EnvOptions, EnvSpec } from "../types.js";
import { LOCK_FILE_NAME, type EnvLock } from "./lock-file.js";

export const RELOCK_HINT = `re-lock: reinstall the app on a worker with this configuration (its compile writes a new ${LOCK_FILE_NAME}), or run \`hypha-conda-worker lock <app-dir>\` with the same --channel-map on this platform; or let the operator start with --lock-mismatch spec to build from the spec`;

/** Returns why `lock` does not fit `spec`, or undefined when it does. */
export function lockMismatch(spec: EnvSpec, lock: EnvLock): { reason: "platform" | "channels" | "spec" | "foreign-url"; message: string } | undefined {
  const base = unlockedSpec(spec);
  if (lock.subdir !== base.subdir) {
    return { reason: "platform", message: `${LOCK_FILE_NAME} was made for platform ${lock.subdir}, this worker is ${base.subdir}` };
  }
  const same = lock.channels.length === base.channels.length && lock.channels.every((c, i) => c === base.channels[i]);
  if (!same) {
    return { reason: "channels", message: `${LOCK_FILE_NAME} was made for channels ${JSON.stringify(lock.channels)}, this worker resolves the app's channels to ${JSON.stringify(base.channels)} (its --channel-map)` };
  }
  if (lock.specHash !== hashEnvSpec(base)) {
    return { reason: "spec", message: `${LOCK_FILE_NAME} was made for other dependencies than the app now declares (spec ${lock.specHash.slice(0, 12)}, now ${hashEnvSpec(base).slice(0, 12)})` };
  }
  // Every locked package must come from one of the spec's channels: a lock cannot widen --allowed-channels.
  const foreign = lock.conda.find((p) => !base.channels.some((c) => packageInChannel(p.url, c)));
  if (foreign) return { reason: "foreign-url", message: `${LOCK_FILE_NAME} names ${foreign.url}, which is not in any of the app's channels ${JSON.stringify(base.channels)}` };
  return undefined;
}

/** A package URL is `<channel URL>/<subdir>/<file>`; a named channel matches a URL ending in `/<name>`. */
export function packageInChannel(url: string, channel: string): boolean {
  const channelPart = url.split("/").slice(0, -2).join("/");
  if (/^[a-z]+:\/\//.test(channel)) return channelPart === channel.replace(/\/+$/, "");
  return channelPart.endsWith(`/${channel}`);
}

/** The spec to build: with the lock attached when it fits; else an E_ENV_LOCK error, or the spec under the fallback. */
export function applyLock(spec: EnvSpec, lock: EnvLock, policy: EnvOptions["lockMismatch"] = "error"): EnvSpec {
  const base = unlockedSpec(spec);
  const mismatch = lockMismatch(base, lock);
  if (!mismatch) return { ...base, lock };
  if (policy === "spec") return { ...base, lockNote: `${mismatch.message}; building from the spec (--lock-mismatch spec)` };
  throw new EnvError("E_ENV_LOCK", `${mismatch.message}; ${RELOCK_HINT}`, { details: { reason: mismatch.reason, lockSpecHash: lock.specHash } });
}
