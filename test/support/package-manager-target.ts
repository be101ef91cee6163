/**
 * The real-thing switch for package managers. With HYPHA_CONDA_TEST_PACKAGE_MANAGER (path to a real conda,
 * mamba or micromamba) and HYPHA_CONDA_TEST_CHANNEL (a channel URL holding the fixture packages), tests run
 * against them; otherwise against the fakes and fixtures/channel. Knob-dependent tests use itFakeOnly /
 * describeFakeOnly so that they are skipped, with the reason in their name, against a real tool.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, it } from "vitest";
import { FIXTURE_CHANNEL_URL, fakePmEnv, fakePmPath, type FakePmEnvOptions, type FakePmName } from "./fake-pm.js";

export const REAL_PM_ENV = "HYPHA_CONDA_TEST_PACKAGE_MANAGER";
export const REAL_CHANNEL_ENV = "HYPHA_CONDA_TEST_CHANNEL";

export interface PackageManagerTarget {
  kind: "fake" | "real";
  /** Absolute path of the executable. */
  path: string;
  name: FakePmName;
  /** Channel holding python, pip, tinylib 1.0/2.0, tinyapp, tinytool, tinyactivate. */
  channelUrl: string;
  /** Why this target was chosen, for test names and skip messages. */
  reason: string;
}

/**
 * The package manager the tests run against. `fakeName` picks which fake face to use when no real tool is
 * configured. Throws when the real-thing variables are half set.
 */
export function packageManagerTarget(
  fakeName: FakePmName = "micromamba",
  env: NodeJS.ProcessEnv = process.env,
): PackageManagerTarget {
  const realPath = env[REAL_PM_ENV]?.trim();
  if (!realPath) {
    return {
      kind: "fake",
      path: fakePmPath(fakeName),
      name: fakeName,
      channelUrl: FIXTURE_CHANNEL_URL,
      reason: `fake ${fakeName} (set ${REAL_PM_ENV} and ${REAL_CHANNEL_ENV} to test a real package manager)`,
    };
  }
  const channelUrl = env[REAL_CHANNEL_ENV]?.trim();
  if (!channelUrl) {
    throw new Error(
      `${REAL_PM_ENV} is set but ${REAL_CHANNEL_ENV} is not: set it to a channel URL (e.g. file:///srv/channel) ` +
        "that holds the fixture packages python, pip, tinylib 1.0/2.0, tinyapp 1.0, tinytool 0.1, tinyactivate 1.0",
    );
  }
  if (!path.isAbsolute(realPath) || !isExecutable(realPath)) {
    throw new Error(`${REAL_PM_ENV}=${realPath} is not an absolute path to an executable file; point it at conda, mamba or micromamba`);
  }
  return { kind: "real", path: realPath, name: nameOf(realPath), channelUrl, reason: `real ${nameOf(realPath)} at ${realPath}` };
}

/** Environment for running the target: knobs only reach a fake; HOME/caches apply to both. */
export function packageManagerEnv(target: PackageManagerTarget, options: FakePmEnvOptions = {}): Record<string, string> {
  if (target.kind === "fake") return fakePmEnv(options);
  const { home, pkgsDir, rootPrefix, base, extra } = options;
  return fakePmEnv({ base, home, pkgsDir, rootPrefix, extra, offlinePip: options.offlinePip });
}

const SKIP_REASON = "skipped: needs the fake package manager's knobs, but a real one is configured";

/** `it` that runs only against the fake; against a real tool it is skipped with the reason in its name. */
export function itFakeOnly(name: string, fn: () => unknown, timeout?: number): void {
  const target = packageManagerTarget();
  if (target.kind === "fake") it(name, fn, timeout);
  else it.skip(`${name} [${SKIP_REASON} (${target.reason})]`, fn);
}

/** `describe` whose tests run only against the fake. */
export function describeFakeOnly(name: string, fn: () => void): void {
  const target = packageManagerTarget();
  if (target.kind === "fake") describe(name, fn);
  else describe.skip(`${name} [${SKIP_REASON} (${target.reason})]`, fn);
}

/** `it` that runs only against a real package manager; skipped with the reason otherwise. */
export function itRealOnly(name: string, fn: () => unknown, timeout?: number): void {
  const target = packageManagerTarget();
  if (target.kind === "real") it(name, fn, timeout);
  else it.skip(`${name} [skipped: set ${REAL_PM_ENV} and ${REAL_CHANNEL_ENV} to run against a real package manager]`, fn);
}

function nameOf(file: string): FakePmName {
  const base = path.basename(file).toLowerCase();
  if (base.startsWith("micromamba")) return "micromamba";
  if (base.startsWith("mamba")) return "mamba";
  return "conda";
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
