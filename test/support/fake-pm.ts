/**
 * Test helpers around the fake conda / mamba / micromamba (test/support/fake-pm/) and the fixture channel.
 * See docs/fake-package-managers.md for every behaviour and knob.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(HERE, "..", "..");

export type FakePmName = "conda" | "mamba" | "micromamba";

/** Directory holding the three fake executables; put it first on PATH. */
export const FAKE_PM_BIN_DIR = path.join(HERE, "fake-pm", "bin");
/** The implementation directory (what FAKE_PM_HOME must point at for a copied launcher). */
export const FAKE_PM_HOME = path.join(HERE, "fake-pm");
export const FIXTURE_CHANNEL_DIR = path.join(REPO_ROOT, "fixtures", "channel");
/** file:// URL of the fixture channel, without a trailing slash (as conda canonicalises it). */
export const FIXTURE_CHANNEL_URL = pathToFileURL(FIXTURE_CHANNEL_DIR).href.replace(/\/+$/, "");
export const FIXTURE_WHEELS_DIR = path.join(REPO_ROOT, "fixtures", "wheels");

/** Absolute path of one fake executable. */
export function fakePmPath(name: FakePmName): string {
  return path.join(FAKE_PM_BIN_DIR, name);
}

/** The behaviour knobs, as typed options; each maps to one FAKE_PM_* variable. */
export interface FakePmKnobs {
  /** FAKE_PM_DELAY_MS: sleep this long before linking each package. */
  delayMsPerPackage?: number;
  /** FAKE_PM_CRASH_AFTER: SIGKILL itself after linking this many packages (partial prefix left). */
  crashAfterPackages?: number;
  /** FAKE_PM_HANG=1: sleep forever right after start (until SIGTERM/SIGKILL). */
  hang?: boolean;
  /** FAKE_PM_LOG: append one JSON line per invocation to this file. */
  invocationLog?: string;
  /** FAKE_PM_CORRUPT_COLD_CACHE=1: concurrent extraction into one cold package cache fails. */
  corruptColdCache?: boolean;
  /** FAKE_PM_EXTRACT_DELAY_MS: how long an extraction holds the cache (default 1000 with corruptColdCache). */
  extractDelayMs?: number;
  /** FAKE_PM_MAMBA_MAJOR: 1 makes `mamba` the conda-based 1.x; default 2. */
  mambaMajor?: 1 | 2;
  /** FAKE_PM_EXIT0_CORRUPT=1: conda's create prints a corrupt-tarball ERROR line, creates nothing, and exits 0. */
  exitZeroCorrupt?: boolean;
  /** FAKE_PM_VERSION: override the reported version. */
  version?: string;
  /** FAKE_PM_SOLVE_LOG: append one JSON line per solve (a create from an @EXPLICIT list solves nothing). */
  solveLog?: string;
}

export interface FakePmEnvOptions extends FakePmKnobs {
  /** Base environment; defaults to process.env. */
  base?: NodeJS.ProcessEnv;
  /** HOME for the child (keeps ~/.conda/environments.txt and default roots out of the real home). */
  home?: string;
  /** Package cache: sets CONDA_PKGS_DIRS (what all three read) and MAMBA_PKGS_DIRS (read by none; set for symmetry). */
  pkgsDir?: string;
  /** MAMBA_ROOT_PREFIX (micromamba / mamba 2). */
  rootPrefix?: string;
  /** Make the pip section offline: PIP_NO_INDEX=1, PIP_FIND_LINKS=fixtures/wheels (default true). */
  offlinePip?: boolean;
  /** Extra variables, applied last. */
  extra?: Record<string, string>;
}

/** An environment for a child process with the fakes first on PATH and the chosen knobs set. */
export function fakePmEnv(options: FakePmEnvOptions = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(options.base ?? process.env)) {
    if (v !== undefined && !k.startsWith("FAKE_PM_")) env[k] = v;
  }
  env.PATH = [FAKE_PM_BIN_DIR, env.PATH ?? ""].filter(Boolean).join(path.delimiter);
  const set = (key: string, value: string | number | undefined) => {
    if (value !== undefined) env[key] = String(value);
  };
  set("HOME", options.home);
  set("CONDA_PKGS_DIRS", options.pkgsDir);
  set("MAMBA_PKGS_DIRS", options.pkgsDir);
  set("MAMBA_ROOT_PREFIX", options.rootPrefix);
  set("FAKE_PM_DELAY_MS", options.delayMsPerPackage);
  set("FAKE_PM_CRASH_AFTER", options.crashAfterPackages);
  set("FAKE_PM_HANG", options.hang ? "1" : undefined);
  set("FAKE_PM_LOG", options.invocationLog);
  set("FAKE_PM_CORRUPT_COLD_CACHE", options.corruptColdCache ? "1" : undefined);
  set("FAKE_PM_EXTRACT_DELAY_MS", options.extractDelayMs);
  set("FAKE_PM_MAMBA_MAJOR", options.mambaMajor);
  set("FAKE_PM_VERSION", options.version);
  set("FAKE_PM_EXIT0_CORRUPT", options.exitZeroCorrupt ? "1" : undefined);
  set("FAKE_PM_SOLVE_LOG", options.solveLog);
  if (options.offlinePip ?? true) {
    env.PIP_NO_INDEX = "1";
    env.PIP_FIND_LINKS = FIXTURE_WHEELS_DIR;
    env.PIP_DISABLE_PIP_VERSION_CHECK = "1";
  }
  Object.assign(env, options.extra ?? {});
  return env;
}

/** One line of the FAKE_PM_LOG invocation log. */
export interface FakePmInvocation {
  time: string;
  face: FakePmName;
  executable: string;
  argv: string[];
  cwd: string;
  pid: number;
  /** Variables named CONDA_*, MAMBA_*, PIP_*, HYPHA_*, plus HOME and PATH. */
  env: Record<string, string>;
}

/** Reads the invocation log; a missing file means no invocation yet. */
export function readInvocationLog(file: string): FakePmInvocation[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as FakePmInvocation);
}

/** Symlinks a fake under `name` into `dir` (e.g. to test detection by PATH or by a custom name). */
export function linkFakePm(dir: string, name: string, face: FakePmName = name as FakePmName): string {
  fs.mkdirSync(dir, { recursive: true });
  const target = path.join(dir, name);
  fs.rmSync(target, { force: true });
  fs.symlinkSync(fakePmPath(face), target);
  return target;
}

/** Writes an environment.yml into `dir` and returns its path. */
export function writeEnvironmentYml(
  dir: string,
  spec: { name?: string; channels?: string[]; dependencies: Array<string | { pip: string[] }>; variables?: Record<string, string> },
  fileName = "environment.yml",
): string {
  const lines: string[] = [];
  if (spec.name) lines.push(`name: ${spec.name}`);
  lines.push("channels:", ...(spec.channels ?? [FIXTURE_CHANNEL_URL, "nodefaults"]).map((c) => `  - ${JSON.stringify(c)}`));
  lines.push("dependencies:");
  for (const dep of spec.dependencies) {
    if (typeof dep === "string") lines.push(`  - ${JSON.stringify(dep)}`);
    else lines.push("  - pip:", ...dep.pip.map((p) => `      - ${JSON.stringify(p)}`));
  }
  if (spec.variables) {
    lines.push("variables:", ...Object.entries(spec.variables).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`));
  }
  const file = path.join(dir, fileName);
  fs.writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

/** A fresh temp directory under os.tmpdir(); remove it with fs.rmSync(dir, {recursive: true, force: true}). */
export function makeTempDir(prefix = "fake-pm-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface FakePmRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Set when the process died of a signal (e.g. FAKE_PM_CRASH_AFTER's SIGKILL). */
  signal?: string;
}

/** Runs a fake (or any executable path) to completion and collects its output; never throws on failure. */
export async function runFakePm(
  nameOrPath: FakePmName | string,
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<FakePmRun> {
  const { execa } = await import("execa");
  const file = path.isAbsolute(nameOrPath) ? nameOrPath : fakePmPath(nameOrPath as FakePmName);
  const result = await execa(file, args, {
    env: options.env ?? fakePmEnv(),
    extendEnv: false,
    cwd: options.cwd,
    reject: false,
    timeout: options.timeoutMs ?? 60_000,
    stdin: "ignore",
    stripFinalNewline: false,
  });
  return {
    exitCode: result.exitCode ?? -1,
    stdout: String(result.stdout),
    stderr: String(result.stderr),
    signal: result.signal ?? undefined,
  };
}

/**
 * The environment for running the built CLI against the fakes in `tmp`: a temp HOME and cache, conda-forge
 * mapped to the fixture channel, no bootstrap, and none of the developer's own Hypha settings.
 */
export function fakeCliEnv(tmp: string): Record<string, string> {
  const env = fakePmEnv({
    home: path.join(tmp, "home"),
    extra: {
      HYPHA_CONDA_CACHE_DIR: path.join(tmp, "cache"),
      HYPHA_CONDA_CHANNEL_MAP: `conda-forge=${FIXTURE_CHANNEL_URL}`,
      HYPHA_CONDA_NO_BOOTSTRAP: "1",
      TMPDIR: tmp,
    },
  });
  for (const name of Object.keys(env)) if (name.startsWith("HYPHA_") && !name.startsWith("HYPHA_CONDA_")) delete env[name];
  return env;
}
