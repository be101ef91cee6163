/**
 * Shared set-up for the operator-command tests (prewarm, cache, doctor): a temp cache, the fake micromamba
 * with an invocation log, the fixture channel mapped as conda-forge, and helpers to run the built CLI or
 * use the library with the same settings.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { createEnvManager } from "../../src/env/env-manager.js";
import type { EnvManager, EnvOptions } from "../../src/env/types.js";
import { readInvocationLog, type FakePmInvocation } from "../support/fake-pm.js";
import { packageManagerEnv, packageManagerTarget, type PackageManagerTarget } from "../support/package-manager-target.js";

export const FIXTURES = fileURLToPath(new URL("../fixtures-cli/", import.meta.url));
export const CLI = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));
export const PREWARM_SCRIPT = fileURLToPath(new URL("../../scripts/prewarm", import.meta.url));

export const app = (name: string) => join(FIXTURES, "apps", name);
export const envFile = () => join(FIXTURES, "envs", "environment.yml");

export interface CliRun {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
}

export interface Sandbox {
  /** The fake micromamba, or the real tool named by HYPHA_CONDA_TEST_PACKAGE_MANAGER. */
  target: PackageManagerTarget;
  /** Invocation-log and knob assertions only hold for the fake. */
  isFake: boolean;
  dir: string;
  cacheDir: string;
  log: string;
  /** Child environment: the fakes first on PATH, FAKE_PM_LOG set, HOME inside the sandbox. */
  env: Record<string, string>;
  /** The env flags every CLI call gets. */
  flags: string[];
  options: EnvOptions;
  /** A library manager with the same settings (its own process-local detection). */
  manager(): EnvManager;
  /** Package-manager invocations so far. */
  invocations(): FakePmInvocation[];
  /** Runs `node dist/cli.js <args> <flags>` (never throws on a non-zero exit). */
  cli(args: string[], extraEnv?: Record<string, string>): Promise<CliRun>;
  cleanup(): Promise<void>;
}

export async function makeSandbox(cacheName = "cache"): Promise<Sandbox> {
  const dir = await mkdtemp(join(tmpdir(), "hcw-operator-"));
  const cacheDir = join(dir, cacheName);
  const log = join(dir, "pm.log");
  const target = packageManagerTarget("micromamba");
  const env = packageManagerEnv(target, { invocationLog: log, home: join(dir, "home") });
  const pm = target.path;
  const options: EnvOptions = {
    cacheDir,
    packageManager: pm,
    bootstrap: false,
    channelMap: { "conda-forge": target.channelUrl },
    defaultChannels: ["conda-forge"],
    allowPipOptions: false,
    createTimeoutMs: 120_000,
  };
  const flags = ["--cache-dir", cacheDir, "--package-manager", pm, "--channel-map", `conda-forge=${target.channelUrl}`, "--no-bootstrap"];
  return {
    target,
    isFake: target.kind === "fake",
    dir,
    cacheDir,
    log,
    env,
    flags,
    options,
    manager: () => createEnvManager(options, { env }),
    invocations: () => readInvocationLog(log),
    cli: async (args, extraEnv = {}) => {
      const r = await execa(process.execPath, [CLI, ...args, ...flags], { env: { ...env, ...extraEnv }, extendEnv: false, reject: false, stdin: "ignore", timeout: 120_000 });
      return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Invocations that created an env (not --version / info probes). */
export const creates = (log: FakePmInvocation[]) => log.filter((i) => i.argv.includes("create"));
