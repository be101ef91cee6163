/** Shared set-up for env-layer tests: a temp cache, a manager over a fake (or real) package manager, specs. */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createEnvManager, type EnvManagerDeps } from "../../../src/env/env-manager.js";
import type { EnvManager, EnvOptions, EnvSpec } from "../../../src/env/types.js";
import { currentSubdir } from "../../../src/env/spec/spec.js";
import { fakePmPath, type FakePmEnvOptions, type FakePmName } from "../../support/fake-pm.js";
import { packageManagerEnv, packageManagerTarget } from "../../support/package-manager-target.js";

/** The fake micromamba, or the real tool when HYPHA_CONDA_TEST_PACKAGE_MANAGER is set. */
export const TARGET = packageManagerTarget("micromamba");
export const IS_REAL = TARGET.kind === "real";

export const TEST_TOKEN = "hypha-test-token-0123456789";

export function makeSpec(conda: string[], pip: string[] = [], variables: Record<string, string> = {}): EnvSpec {
  return { schema: 1, channels: [TARGET.channelUrl], conda: [...conda].sort(), pip: [...pip].sort(), variables, subdir: currentSubdir() };
}

export interface TestCache {
  dir: string;
  cacheDir: string;
  log: string;
  cleanup(): Promise<void>;
}

export async function makeTestCache(prefix = "hcw-env-"): Promise<TestCache> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cacheDir: path.join(dir, "cache"), log: path.join(dir, "pm.log"), cleanup: () => fs.rm(dir, { recursive: true, force: true }) };
}

export interface ManagerSetup {
  face?: FakePmName;
  knobs?: Omit<FakePmEnvOptions, "invocationLog" | "base">;
  options?: Partial<EnvOptions>;
  deps?: Partial<EnvManagerDeps>;
}

/** The child-process environment a manager in these tests runs with (secrets included on purpose). */
export function workerEnv(cache: TestCache, setup: ManagerSetup = {}): Record<string, string> {
  return packageManagerEnv(TARGET, {
    ...setup.knobs,
    invocationLog: cache.log,
    base: { ...process.env, HYPHA_TOKEN: TEST_TOKEN, HYPHA_WORKSPACE_TOKEN: TEST_TOKEN, MY_SECRET: "s3cr3t-value", AWS_SECRET_ACCESS_KEY: "aws-secret-value" },
  });
}

export function makeOptions(cache: TestCache, setup: ManagerSetup = {}): EnvOptions {
  return {
    cacheDir: cache.cacheDir,
    packageManager: IS_REAL ? TARGET.path : fakePmPath(setup.face ?? "micromamba"),
    bootstrap: false,
    channelMap: {},
    defaultChannels: [TARGET.channelUrl],
    allowPipOptions: false,
    createTimeoutMs: 60_000,
    ...setup.options,
  };
}

export function makeManager(cache: TestCache, setup: ManagerSetup = {}): EnvManager {
  return createEnvManager(makeOptions(cache, setup), { env: workerEnv(cache, setup), lockStaleMs: 2000, ...setup.deps });
}
