/**
 * Doubles for session tests: an EnvManager that hands out the machine's python3 as the "env" (no package
 * manager involved) and records leases, and a bridge-less runtime that runs the entry point directly
 * with a BridgeHost double whose handshake completes at once (or never, when asked).
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { BridgeHost, BridgeHostOptions, RunnerCommand } from "../../src/bridge/types.js";
import type { EnsureEnvOptions, EnvManager, EnvResult, EnvSpec, Lease } from "../../src/env/types.js";
import { normalizeManifest, resolveEnvSpec } from "../../src/env/spec/manifest.js";
import { silentLogger } from "../../src/logger.js";
import type { SessionDeps, SessionRuntime } from "../../src/session/types.js";

/** The real interpreter behind `python3` (pyenv shims are scripts; the double needs the binary). */
export const PYTHON = execFileSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).trim();

export interface EnvDoubleOptions {
  activation?: Record<string, string>;
  /** Makes ensureEnv fail with this error. */
  failEnsure?: Error;
  /** Makes acquireLease fail with this error. */
  failLease?: Error;
  /** ensureEnv waits this long (honouring the abort signal). */
  ensureDelayMs?: number;
}

export interface EnvDouble extends EnvManager {
  ensured: EnvSpec[];
  leases: Array<{ hash: string; holder: string; released: boolean }>;
  activeLeases(): number;
}

export function createEnvDouble(options: EnvDoubleOptions = {}): EnvDouble {
  const ensured: EnvSpec[] = [];
  const leases: EnvDouble["leases"] = [];
  const prefix = path.dirname(path.dirname(PYTHON));
  const double: EnvDouble = {
    ensured,
    leases,
    activeLeases: () => leases.filter((l) => !l.released).length,
    options: { cacheDir: os.tmpdir(), bootstrap: false, channelMap: {}, defaultChannels: ["conda-forge"], allowPipOptions: false, createTimeoutMs: 60_000 },
    async packageManager() {
      throw new Error("the env double has no package manager");
    },
    async detectPackageManagers() {
      return { found: [], searched: [] };
    },
    async lockSpec() {
      throw new Error("the env double does not lock");
    },
    async ensureEnv(spec: EnvSpec, ensureOptions?: EnsureEnvOptions): Promise<EnvResult> {
      ensured.push(spec);
      ensureOptions?.onProgress?.({ phase: "creating", type: "info", message: "double: linking packages", elapsed: 0 });
      if (options.ensureDelayMs) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, options.ensureDelayMs);
          ensureOptions?.signal?.addEventListener("abort", () => {
            clearTimeout(timer);
            reject(new Error("ensureEnv aborted"));
          });
        });
      }
      if (options.failEnsure) throw options.failEnsure;
      const hash = createHash("sha256").update(JSON.stringify(spec)).digest("hex");
      return {
        hash,
        prefix,
        pythonPath: PYTHON,
        activation: { PATH: `${path.dirname(PYTHON)}:/usr/bin:/bin`, CONDA_PREFIX: prefix, ...options.activation },
        status: ensured.length > 1 ? "cached" : "created",
        seconds: 0.01,
      };
    },
    async acquireLease(hash: string, holder: string): Promise<Lease> {
      if (options.failLease) throw options.failLease;
      const record = { hash, holder, released: false };
      leases.push(record);
      return {
        hash,
        async release() {
          record.released = true;
        },
      };
    },
    async listEnvs() {
      return [];
    },
    async gc() {
      return [];
    },
    async removeEnv() {
      throw new Error("the env double removes nothing");
    },
  };
  return double;
}

export interface RuntimeDoubleOptions {
  /** The runner never handshakes. */
  neverReady?: boolean;
  /** createBridgeHost throws. */
  failBridge?: Error;
}

/** Runs `python -u <entry>` with a BridgeHost double; records every host it made. */
export function createRuntimeDouble(options: RuntimeDoubleOptions = {}): SessionRuntime & { hosts: Array<{ closed: boolean; options: BridgeHostOptions }> } {
  const hosts: Array<{ closed: boolean; options: BridgeHostOptions }> = [];
  return {
    hosts,
    normalizeManifest: (raw) => normalizeManifest(raw),
    resolveEnvSpec: (manifest, read, specOptions) => resolveEnvSpec(manifest as Parameters<typeof resolveEnvSpec>[0], read, specOptions),
    buildRunnerCommand({ pythonPath, entryPoint }): RunnerCommand {
      return { file: pythonPath, args: ["-u", entryPoint], env: { PYTHONUNBUFFERED: "1" }, stdio: ["ignore", "pipe", "pipe", "pipe"] };
    },
    createBridgeHost(hostOptions: BridgeHostOptions): BridgeHost {
      if (options.failBridge) throw options.failBridge;
      const record = { closed: false, options: hostOptions };
      hosts.push(record);
      const never = new Promise<void>(() => undefined);
      return {
        ready: options.neverReady ? never : Promise.resolve(),
        mainDone: never,
        appConnected: false,
        fastCalls: undefined,
        appSocketStats: async () => undefined,
        registeredServices: () => [],
        waitForService: (id, timeoutMs) =>
          new Promise((_, reject) => setTimeout(() => reject(new Error(`double: no service ${id}`)), timeoutMs)),
        callService: async () => {
          throw new Error("double: no services");
        },
        execute: async () => ({ status: "ok", outputs: [] }),
        async close() {
          record.closed = true;
        },
      };
    },
  };
}

export interface TempRoot {
  dir: string;
  cleanup(): void;
}

export function makeTempRoot(prefix = "hcw-session-"): TempRoot {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function sessionDeps(env: EnvManager, workingRoot: string, overrides: Partial<SessionDeps> = {}): SessionDeps {
  return {
    env,
    specOptions: { channelMap: {}, defaultChannels: ["conda-forge"], allowPipOptions: false },
    workingRoot,
    serviceMode: { kind: "local" },
    passEnv: {},
    logLimits: { maxLines: 5000, maxBytes: 1024 * 1024 },
    stopGraceMs: 500,
    logger: silentLogger,
    ...overrides,
  };
}
