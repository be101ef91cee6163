/**
 * The name this worker records as its host in lock holder and lease records. Workers sharing one cache
 * over a network filesystem tell each other apart by it: a record from this host is judged by its pid, one
 * from another host only by its heartbeat (a pid means nothing on another machine). `HYPHA_CONDA_HOSTNAME`
 * overrides `os.hostname()` (containers that all call themselves `localhost`, tests).
 */
import os from "node:os";
import { EnvError } from "../../errors.js";

export const HOSTNAME_VARIABLE = "HYPHA_CONDA_HOSTNAME";

/** A DNS-style name: letters, digits, '.', '-', '_', starting with a letter or digit, at most 253 characters. */
const HOST_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;

/** Throws E_CONFIG unless `name` is a usable host name. */
export function assertHostname(name: string, source: string): string {
  if (typeof name !== "string" || !HOST_PATTERN.test(name)) {
    throw new EnvError(
      "E_CONFIG",
      `${source} ${JSON.stringify(name)} is not a host name: use 1-253 letters, digits, '.', '-' or '_', starting with a letter or digit (each worker sharing a cache needs its own)`,
    );
  }
  return name;
}

/** This worker's host name: `HYPHA_CONDA_HOSTNAME` when set (validated), else `os.hostname()`. */
export function hostIdentity(env: NodeJS.ProcessEnv = process.env): string {
  const given = env[HOSTNAME_VARIABLE];
  if (given !== undefined && given !== "") return assertHostname(given, HOSTNAME_VARIABLE);
  // An unusual OS host name (spaces, unicode) is still this host's identity; only an empty one is useless.
  return os.hostname() || "localhost";
}
