/**
 * The subcommand table. Each entry loads its module lazily so `--help` and fast commands do not pay
 * for the whole worker at start-up. Add a command here when its capability lands.
 */
import type { CommandDefinition } from "./command.js";

export interface CommandEntry {
  summary: string;
  load: () => Promise<CommandDefinition>;
}

export const COMMANDS: Record<string, CommandEntry> = {
  serve: { summary: "register the worker on a Hypha server and run apps", load: async () => (await import("./serve.js")).serveCommand },
  run: { summary: "run an app locally: build its env, run it, optionally call its service", load: async () => (await import("./run.js")).runCommand },
  lock: { summary: "solve an app's env into hypha-conda.lock.json (exact packages, no solve at start)", load: async () => (await import("./lock.js")).lockCommand },
  prewarm: { summary: "build or confirm the envs of apps before traffic arrives", load: async () => (await import("./prewarm.js")).prewarmCommand },
  cache: { summary: "list, gc, remove, export or import cached envs", load: async () => (await import("./cache.js")).cacheCommand },
  doctor: { summary: "check package managers, cache, locks, leases and python3", load: async () => (await import("./doctor.js")).doctorCommand },
};
