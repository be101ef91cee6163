/**
 * One row per tool face and reference fact (reference/conda-family.md, "Newer releases, measured 2026-12"):
 * what to run, what to keep of the answer (an observation free of paths and timings), and what the reference
 * says it must be. fake-pm-conformance.test.ts runs each row on the fake with the row's version, and on the
 * real tool too when HYPHA_CONDA_TEST_PACKAGE_MANAGER names one of that face.
 */
import fs from "node:fs";
import path from "node:path";
import { lastJsonObject } from "../../src/env/build/package-manager/diagnose.js";
import { runFakePm, writeEnvironmentYml, type FakePmName, type FakePmRun } from "./fake-pm.js";

/** One tool to observe: the fake with a version knob, or the real executable. */
export interface Subject {
  path: string;
  channelUrl: string;
  /** A fresh directory for this row (its own HOME under it). */
  dir: string;
  /** The child environment for a HOME, with the package cache and root prefix under `dir`. */
  env(home: string, extra?: Record<string, string>): Record<string, string>;
}

export type Observation = Record<string, unknown>;

export interface FaceRow {
  /** The face as the reference names it, and the fake's version standing for it. */
  face: string;
  tool: FakePmName;
  fakeVersion: string;
  /** Whether a real tool (name, version) has this face. */
  appliesTo(name: FakePmName, version: string): boolean;
  fact: string;
  observe(subject: Subject): Promise<Observation>;
  expected: Observation;
}

const atLeast = (version: string, major: number, minor: number) => {
  const [a = 0, b = 0] = version.split(".").map((p) => Number.parseInt(p, 10));
  return a > major || (a === major && b >= minor);
};
const isConda267 = (name: FakePmName, version: string) => name === "conda" && atLeast(version, 26, 7);
const isConda237 = (name: FakePmName, version: string) => name === "conda" && atLeast(version, 23, 7) && !atLeast(version, 26, 7);
// micromamba 1.5/2.x and mamba 2.x are libmamba's CLI; mamba 1.x is conda's.
const isLibmamba = (name: FakePmName, version: string) => name === "micromamba" || (name === "mamba" && atLeast(version, 2, 0));
const isLibmamba28 = (name: FakePmName, version: string) => isLibmamba(name, version) && atLeast(version, 2, 8);

function setUpHome(subject: Subject, condarc?: string): string {
  const home = path.join(subject.dir, "home");
  fs.mkdirSync(home, { recursive: true });
  if (condarc !== undefined) fs.writeFileSync(path.join(home, ".condarc"), condarc);
  return home;
}

async function run(subject: Subject, args: string[], options: { condarc?: string; extra?: Record<string, string> } = {}): Promise<FakePmRun> {
  const home = setUpHome(subject, options.condarc);
  return runFakePm(subject.path, args, { env: subject.env(home, options.extra), cwd: subject.dir, timeoutMs: 180_000 });
}

function yml(subject: Subject, channels: string[], dependencies: Array<string | { pip: string[] }>): string {
  return writeEnvironmentYml(subject.dir, { channels, dependencies });
}

const prefixOf = (subject: Subject) => path.join(subject.dir, "env");
const condaCreate = (subject: Subject, file: string, extra: string[] = []) => ["create", "-p", prefixOf(subject), "-f", file, ...extra, "--yes", "--json"];
const libmambaCreate = (subject: Subject, file: string, json = true) => ["create", "-p", prefixOf(subject), "-f", file, "-y", ...(json ? ["--json"] : ["--dry-run"]), "-r", path.join(subject.dir, "root")];
const doc = (r: FakePmRun) => lastJsonObject(r.stdout) ?? {};

/** exception_name and the fields the worker reads, as conda's --json error document gives them. */
const condaError = (r: FakePmRun, ...keys: string[]): Observation => {
  const d = doc(r);
  return { exitCode: r.exitCode, exception_name: d.exception_name, ...Object.fromEntries(keys.map((k) => [k, d[k]])) };
};

const condaMissingPackage = async (s: Subject) =>
  condaError(await run(s, condaCreate(s, yml(s, [s.channelUrl], ["python", "nosuchpkg"]), ["--override-channels", "-c", s.channelUrl])), "packages");

export const FACE_ROWS: FaceRow[] = [
  {
    face: "conda ≥ 26.7", tool: "conda", fakeVersion: "26.7.1", appliesTo: isConda267,
    fact: "`nodefaults` in the yml is resolved as a channel name: UnavailableInvalidChannel, exit 1",
    // A file:// channel_alias makes the real tool answer 404 offline, as anaconda.org does online.
    observe: async (s) => condaError(await run(s, condaCreate(s, yml(s, [s.channelUrl, "nodefaults"], ["python"])), { extra: { CONDA_CHANNEL_ALIAS: `file://${s.dir}/alias` } }), "channel_name"),
    expected: { exitCode: 1, exception_name: "UnavailableInvalidChannel", channel_name: "nodefaults" },
  },
  {
    face: "conda ≥ 26.7", tool: "conda", fakeVersion: "26.7.1", appliesTo: isConda267,
    fact: "create -f with --override-channels -c works; register_envs off leaves environments.txt without the env",
    observe: async (s) => {
      const r = await run(s, condaCreate(s, yml(s, [s.channelUrl], ["python", "tinylib"]), ["--override-channels", "-c", s.channelUrl]), { extra: { CONDA_REGISTER_ENVS: "false" } });
      const list = path.join(s.dir, "home", ".conda", "environments.txt");
      const registered = fs.existsSync(list) ? fs.readFileSync(list, "utf8") : "";
      return { exitCode: r.exitCode, success: doc(r).success, history: fs.existsSync(path.join(prefixOf(s), "conda-meta", "history")), registered: registered.includes(prefixOf(s)) };
    },
    expected: { exitCode: 0, success: true, history: true, registered: false },
  },
  {
    face: "conda ≥ 26.7", tool: "conda", fakeVersion: "26.7.1", appliesTo: isConda267,
    fact: "a missing package is PackagesNotFoundInChannelsError with `packages`",
    observe: condaMissingPackage,
    expected: { exitCode: 1, exception_name: "PackagesNotFoundInChannelsError", packages: ["nosuchpkg"] },
  },
  {
    face: "conda ≥ 26.7", tool: "conda", fakeVersion: "26.7.1", appliesTo: isConda267,
    fact: "unsatisfiable specs are UnsatisfiableError with an `unsatisfiable` list",
    observe: async (s) => {
      const r = await run(s, condaCreate(s, yml(s, [s.channelUrl], ["tinyapp", "tinylib<2"]), ["--override-channels", "-c", s.channelUrl]));
      return { ...condaError(r), unsatisfiableIsList: Array.isArray(doc(r).unsatisfiable) };
    },
    expected: { exitCode: 1, exception_name: "UnsatisfiableError", unsatisfiableIsList: true },
  },
  {
    face: "conda ≥ 26.7", tool: "conda", fakeVersion: "26.7.1", appliesTo: isConda267,
    fact: "no implicit channel: `channels` is [] and a create naming none fails with NoChannelsConfiguredError",
    observe: async (s) => {
      const info = await run(s, ["info", "--json"]);
      const r = await run(s, ["create", "-p", prefixOf(s), "python", "--yes", "--json"]);
      return { channels: doc(info).channels, ...condaError(r) };
    },
    expected: { channels: [], exitCode: 1, exception_name: "NoChannelsConfiguredError" },
  },
  {
    face: "conda ≥ 26.7", tool: "conda", fakeVersion: "26.7.1", appliesTo: isConda267,
    fact: "a failed pip: section prints a plain Warning line, then CondaEnvException 'Pip failed'; pip's text on stderr",
    observe: async (s) => {
      const r = await run(s, condaCreate(s, yml(s, [s.channelUrl], ["python", { pip: ["nosuchwheel"] }]), ["--override-channels", "-c", s.channelUrl]));
      return { ...condaError(r, "message"), firstLine: r.stdout.split("\n")[0]!.slice(0, 50), pipError: r.stderr.includes("Pip subprocess error:"), leftBehind: fs.existsSync(path.join(prefixOf(s), "conda-meta")) };
    },
    expected: { exitCode: 1, exception_name: "CondaEnvException", message: "Pip failed", firstLine: "Warning: you have pip-installed dependencies in yo", pipError: true, leftBehind: true },
  },
  {
    face: "conda ≥ 26.7", tool: "conda", fakeVersion: "26.7.1", appliesTo: isConda267,
    fact: "CONDA_PKGS_DIRS is merged with ~/.condarc's pkgs_dirs, the variable's entry first",
    observe: async (s) => {
      const r = await run(s, ["info", "--json"], { condarc: `pkgs_dirs:\n  - ${s.dir}/rc-pkgs\n`, extra: { CONDA_PKGS_DIRS: `${s.dir}/env-pkgs` } });
      return { pkgs_dirs: (doc(r).pkgs_dirs as string[]).map((p) => path.relative(s.dir, p)) };
    },
    expected: { pkgs_dirs: ["env-pkgs", "rc-pkgs"] },
  },
  {
    face: "conda 23.7–26.5", tool: "conda", fakeVersion: "25.11.1", appliesTo: isConda237,
    fact: "`env create` strips `nodefaults` from the yml and adds no configured channel",
    observe: async (s) => {
      const r = await run(s, ["env", "create", "-p", prefixOf(s), "-f", yml(s, [s.channelUrl, "nodefaults"], ["python", "tinylib"]), "--yes", "--json"], { condarc: "channels:\n  - operator-private-channel\n" });
      return { exitCode: r.exitCode, success: doc(r).success };
    },
    expected: { exitCode: 0, success: true },
  },
  {
    face: "conda 23.7–26.5", tool: "conda", fakeVersion: "25.11.1", appliesTo: isConda237,
    fact: "a missing package is PackagesNotFoundError with `packages`",
    observe: condaMissingPackage,
    expected: { exitCode: 1, exception_name: "PackagesNotFoundError", packages: ["nosuchpkg"] },
  },
  {
    face: "libmamba ≥ 2.8", tool: "micromamba", fakeVersion: "2.8.1", appliesTo: isLibmamba28,
    fact: "a missing package in --json is only `unsupported request`; the dry run's text names it",
    observe: async (s) => {
      const file = yml(s, [s.channelUrl], ["python", "nosuchpkg"]);
      const terse = await run(s, libmambaCreate(s, file));
      const text = await run(s, libmambaCreate(s, file, false));
      return {
        exitCode: terse.exitCode,
        solver_problems: doc(terse).solver_problems,
        success: doc(terse).success,
        critical: terse.stderr.includes("Could not solve for environment specs"),
        textNames: /nosuchpkg[^\n]*does not exist/.test(`${text.stdout}\n${text.stderr}`),
      };
    },
    expected: { exitCode: 1, solver_problems: ["unsupported request"], success: false, critical: true, textNames: true },
  },
  {
    face: "libmamba ≥ 2.8", tool: "micromamba", fakeVersion: "2.8.1", appliesTo: isLibmamba28,
    fact: "register_envs cannot be turned off: the env is listed in $HOME/.conda/environments.txt whatever MAMBA_/CONDA_REGISTER_ENVS say",
    observe: async (s) => {
      const r = await run(s, libmambaCreate(s, yml(s, [s.channelUrl], ["python"])), { extra: { MAMBA_REGISTER_ENVS: "false", CONDA_REGISTER_ENVS: "false" } });
      const list = path.join(s.dir, "home", ".conda", "environments.txt");
      const registered = fs.existsSync(list) ? fs.readFileSync(list, "utf8") : "";
      return { exitCode: r.exitCode, success: doc(r).success, registered: registered.split("\n").includes(prefixOf(s)) };
    },
    expected: { exitCode: 0, success: true, registered: true },
  },
  {
    face: "libmamba < 2.8", tool: "micromamba", fakeVersion: "1.5.12", appliesTo: (name, version) => isLibmamba(name, version) && !atLeast(version, 2, 8),
    fact: "a missing package in --json says `nothing provides requested`",
    observe: async (s) => {
      const r = await run(s, libmambaCreate(s, yml(s, [s.channelUrl], ["python", "nosuchpkg"])));
      return { exitCode: r.exitCode, solver_problems: doc(r).solver_problems, success: doc(r).success };
    },
    expected: { exitCode: 1, solver_problems: ["nothing provides requested nosuchpkg"], success: false },
  },
];
