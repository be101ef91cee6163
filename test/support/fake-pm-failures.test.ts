// Failure shapes of the fakes per flavour (reference/conda-family.md): missing package, unsatisfiable,
// unknown flags, prefix rules, unreachable channels, --offline, plus match specs and channel priority.
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FIXTURE_CHANNEL_DIR, FIXTURE_CHANNEL_URL, fakePmEnv, makeTempDir, runFakePm, writeEnvironmentYml, type FakePmEnvOptions } from "./fake-pm.js";

let tmp: string;
let envOpts: FakePmEnvOptions;
beforeEach(() => {
  tmp = makeTempDir("fake-pm-fail-");
  envOpts = { home: path.join(tmp, "home"), pkgsDir: path.join(tmp, "pkgs"), rootPrefix: path.join(tmp, "root") };
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));
const env = (extra: FakePmEnvOptions = {}) => fakePmEnv({ ...envOpts, ...extra });
const createArgs = (prefix: string, ...specs: string[]) => ["create", "-p", prefix, "-y", "--override-channels", "-c", FIXTURE_CHANNEL_URL, ...specs];

describe("missing package", () => {
  it("conda --json: PackagesNotFoundError with packages and channel_urls, exit 1, no prefix", async () => {
    const prefix = path.join(tmp, "e");
    const run = await runFakePm("conda", [...createArgs(prefix, "python", "nosuchpkg"), "--json"], { env: env() });
    expect(run.exitCode).toBe(1);
    const doc = JSON.parse(run.stdout);
    expect(doc.exception_name).toBe("PackagesNotFoundError");
    expect(doc.packages).toEqual(["nosuchpkg"]);
    expect(doc.channel_urls).toContain(`${FIXTURE_CHANNEL_URL}/noarch`);
    expect(doc.message).toContain("The following packages are not available from current channels");
    expect(fs.existsSync(prefix)).toBe(false);
  });

  it("conda without --json prints the error on stderr", async () => {
    const run = await runFakePm("conda", createArgs(path.join(tmp, "e"), "nosuchpkg"), { env: env() });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/^\nPackagesNotFoundError: The following packages are not available from current channels:\n\n {2}- nosuchpkg\n/);
  });

  it.each(["micromamba", "mamba"] as const)("%s --json: solver_problems 'nothing provides requested'", async (face) => {
    const run = await runFakePm(face, [...createArgs(path.join(tmp, "e"), "tinylib>=5"), "--json"], { env: env() });
    expect(run.exitCode).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual({ solver_problems: ["nothing provides requested tinylib >=5"], success: false });
    const text = await runFakePm(face, createArgs(path.join(tmp, "e"), "nosuchpkg"), { env: env() });
    expect(text.stderr).toContain("nosuchpkg does not exist (perhaps a typo or a missing channel)");
    expect(text.stderr).toContain("critical libmamba Could not solve for environment specs");
  });
});

describe("unsatisfiable (tinyapp needs tinylib >=2)", () => {
  it("conda --json: UnsatisfiableError with the conflicting chain", async () => {
    const run = await runFakePm("conda", [...createArgs(path.join(tmp, "e"), "tinyapp", "tinylib<2"), "--json"], { env: env() });
    expect(run.exitCode).toBe(1);
    const doc = JSON.parse(run.stdout);
    expect(doc.exception_name).toBe("UnsatisfiableError");
    expect(doc.unsatisfiable).toEqual([["tinyapp -> tinylib[version='>=2']", "tinylib[version='<2']"]]);
  });

  it.each(["micromamba", "mamba"] as const)("%s --json: the reference's solver_problems document", async (face) => {
    const yml = writeEnvironmentYml(tmp, { dependencies: ["tinyapp", "tinylib<2"] });
    const run = await runFakePm(face, ["create", "-p", path.join(tmp, "e"), "-f", yml, "-y", "--json"], { env: env() });
    expect(run.exitCode).toBe(1);
    expect(JSON.parse(run.stdout)).toEqual({
      solver_problems: ["package tinyapp-1.0-py_0 requires tinylib >=2, but none of the providers can be installed"],
      success: false,
    });
  });
});

describe("unknown flags and commands", () => {
  it("conda answers like argparse: exit 2", async () => {
    const run = await runFakePm("conda", ["create", "-p", path.join(tmp, "e"), "--bogus", "tinylib"], { env: env() });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain("error: unrecognized arguments: --bogus");
    const cmd = await runFakePm("conda", ["frobnicate"], { env: env() });
    expect(cmd.exitCode).toBe(2);
    expect(cmd.stderr).toContain("invalid choice: 'frobnicate'");
    expect((await runFakePm("conda", ["create", "-r", tmp, "tinylib"], { env: env() })).exitCode).toBe(2);
  });

  it("micromamba answers like CLI11: exit 109", async () => {
    const run = await runFakePm("micromamba", ["create", "-p", path.join(tmp, "e"), "--bogus"], { env: env() });
    expect(run.exitCode).toBe(109);
    expect(run.stderr).toBe("The following argument was not expected: --bogus\nRun with --help for more information.\n");
    expect((await runFakePm("micromamba", ["create", "-p"], { env: env() })).exitCode).toBe(109);
  });
});

describe("prefix rules", () => {
  it.each(["micromamba", "conda"] as const)("%s: a non-empty folder without conda-meta aborts and stays untouched", async (face) => {
    const prefix = path.join(tmp, "busy");
    fs.mkdirSync(prefix);
    fs.writeFileSync(path.join(prefix, "keep.txt"), "mine");
    const run = await runFakePm(face, createArgs(prefix, "tinytool"), { env: env() });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(face === "conda" ? "DirectoryNotACondaEnvironmentError" : "critical libmamba Non-conda folder exists at prefix");
    expect(fs.readdirSync(prefix)).toEqual(["keep.txt"]);
  });

  it("micromamba: an empty folder is used, with a warning", async () => {
    const prefix = path.join(tmp, "empty");
    fs.mkdirSync(prefix);
    const run = await runFakePm("micromamba", createArgs(prefix, "tinytool"), { env: env() });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toContain("warning  libmamba");
    expect(fs.existsSync(path.join(prefix, "bin", "tinytool"))).toBe(true);
  });

  it.each(["micromamba", "conda"] as const)("%s: -y deletes an existing env; without -y it refuses", async (face) => {
    const prefix = path.join(tmp, "env");
    expect((await runFakePm(face, createArgs(prefix, "tinytool"), { env: env() })).exitCode).toBe(0);
    fs.writeFileSync(path.join(prefix, "stray.txt"), "old");
    const noYes = createArgs(prefix, "tinyactivate").filter((a) => a !== "-y");
    const refused = await runFakePm(face, noYes, { env: env() });
    expect(refused.exitCode).toBe(1);
    expect(fs.existsSync(path.join(prefix, "stray.txt"))).toBe(true);
    const wiped = await runFakePm(face, createArgs(prefix, "tinyactivate"), { env: env() });
    expect(wiped.exitCode, wiped.stderr).toBe(0);
    expect(fs.existsSync(path.join(prefix, "stray.txt"))).toBe(false);
    expect(fs.existsSync(path.join(prefix, "bin", "tinytool"))).toBe(false);
    expect(fs.existsSync(path.join(prefix, "conda-meta", "tinyactivate-1.0-0.json"))).toBe(true);
  });
});

describe("channels offline", () => {
  it("conda appends `defaults` unless --override-channels or nodefaults, and cannot reach it", async () => {
    const run = await runFakePm("conda", ["create", "-p", path.join(tmp, "e"), "-y", "--json", "-c", FIXTURE_CHANNEL_URL, "tinylib"], { env: env() });
    expect(run.exitCode).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ exception_name: "CondaHTTPError", status_code: "000" });
    const yml = writeEnvironmentYml(tmp, { channels: [FIXTURE_CHANNEL_URL, "nodefaults"], dependencies: ["tinylib"] });
    expect((await runFakePm("conda", ["env", "create", "-p", path.join(tmp, "f"), "-f", yml, "--yes"], { env: env() })).exitCode).toBe(0);
  });

  it("conda --offline skips network channels (file:// still works); a lone named channel finds nothing", async () => {
    const ok = await runFakePm("conda", ["create", "-p", path.join(tmp, "e"), "-y", "--offline", "-c", FIXTURE_CHANNEL_URL, "-c", "conda-forge", "tinylib"], { env: env() });
    expect(ok.exitCode, ok.stderr).toBe(0);
    const none = await runFakePm("conda", ["create", "-p", path.join(tmp, "f"), "-y", "--json", "--offline", "--override-channels", "-c", "conda-forge", "tinylib"], { env: env() });
    expect(JSON.parse(none.stdout).exception_name).toBe("PackagesNotFoundError");
  });

  it("mamba 2 defaults to conda-forge, which it cannot download offline", async () => {
    const run = await runFakePm("mamba", ["create", "-p", path.join(tmp, "e"), "-y", "tinylib"], { env: env() });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain("https://conda.anaconda.org/conda-forge/");
  });

  it("micromamba --offline ignores channels and installs from the package cache only", async () => {
    const missing = await runFakePm("micromamba", ["create", "-p", path.join(tmp, "a"), "-y", "--offline", "-c", FIXTURE_CHANNEL_URL, "tinylib"], { env: env() });
    expect(missing.exitCode).toBe(1);
    expect((await runFakePm("micromamba", createArgs(path.join(tmp, "warm"), "tinytool"), { env: env() })).exitCode).toBe(0);
    const cached = await runFakePm("micromamba", ["create", "-p", path.join(tmp, "b"), "-y", "--offline", "-c", "conda-forge", "tinytool"], { env: env() });
    expect(cached.exitCode, cached.stderr).toBe(0);
    const notCached = await runFakePm("micromamba", ["create", "-p", path.join(tmp, "c"), "-y", "--offline", "-c", FIXTURE_CHANNEL_URL, "tinylib"], { env: env() });
    expect(notCached.exitCode).toBe(1);
  });
});

describe("match specs on the command line", () => {
  // The parser itself is covered in-process by fake-pm-match-spec.test.ts; these check the CLI path.
  const cases: Array<[string[], string | null]> = [
    [["tinylib >=1.0,<2"], "1.0"],
    [[`${FIXTURE_CHANNEL_URL}::tinylib=2.0=py*`], "2.0"],
    [["tinylib>2"], null],
  ];
  it.each(cases)("%j installs tinylib %s", async (specs, version) => {
    const run = await runFakePm("conda", [...createArgs(path.join(tmp, "e"), ...specs), "--dry-run", "--json"], { env: env() });
    if (version === null) {
      expect(JSON.parse(run.stdout).exception_name).toBe("PackagesNotFoundError");
      return;
    }
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const link = JSON.parse(run.stdout).actions.LINK as Array<{ name: string; version: string }>;
    expect(link.find((l) => l.name === "tinylib")?.version).toBe(version);
  });

  it("python pulls in pip (add_pip_as_python_dependency)", async () => {
    const run = await runFakePm("micromamba", [...createArgs(path.join(tmp, "e"), "python"), "--dry-run", "--json"], { env: env() });
    expect(JSON.parse(run.stdout).actions.LINK.map((l: { name: string }) => l.name).sort()).toEqual(["pip", "python"]);
  });
});

describe("channel priority", () => {
  it("prefers the earlier channel even over a newer version elsewhere", async () => {
    const second = path.join(tmp, "chan2");
    const payload = path.join(second, "noarch", "tinylib-1.5-py_0");
    fs.cpSync(path.join(FIXTURE_CHANNEL_DIR, "noarch", "tinylib-1.0-py_0"), payload, { recursive: true });
    const record = { name: "tinylib", version: "1.5", build: "py_0", build_number: 0, depends: ["python"], noarch: "python", subdir: "noarch" };
    fs.writeFileSync(path.join(second, "noarch", "repodata.json"), JSON.stringify({ info: { subdir: "noarch" }, packages: { "tinylib-1.5-py_0.tar.bz2": record } }));
    const url = `file://${second}`;
    const pick = async (channels: string[]) => {
      const yml = writeEnvironmentYml(tmp, { channels: [...channels, "nodefaults"], dependencies: ["tinylib"] });
      const run = await runFakePm("conda", ["create", "-p", path.join(tmp, "e"), "-f", yml, "--dry-run", "--json"], { env: env() });
      return JSON.parse(run.stdout).actions.LINK.find((l: { name: string }) => l.name === "tinylib");
    };
    expect(await pick([url, FIXTURE_CHANNEL_URL])).toMatchObject({ version: "1.5", channel: url });
    expect(await pick([FIXTURE_CHANNEL_URL, url])).toMatchObject({ version: "2.0", channel: FIXTURE_CHANNEL_URL });
  });
});

describe("spec files", () => {
  it("mamba 1.x `create --file` takes only text specs; `env create -f` takes the yml", async () => {
    const yml = writeEnvironmentYml(tmp, { dependencies: ["tinytool"] });
    const mamba1 = env({ mambaMajor: 1 });
    const bad = await runFakePm("mamba", ["create", "-p", path.join(tmp, "a"), "--file", yml, "-y"], { env: mamba1 });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain("CondaValueError: could not parse");
    const good = await runFakePm("mamba", ["env", "create", "-p", path.join(tmp, "b"), "-f", yml, "--yes"], { env: mamba1 });
    expect(good.exitCode, good.stderr).toBe(0);
    const txt = path.join(tmp, "specs.txt");
    fs.writeFileSync(txt, "# comment\ntinytool\n");
    const fromTxt = await runFakePm("mamba", ["create", "-p", path.join(tmp, "c"), "--override-channels", "-c", FIXTURE_CHANNEL_URL, "--file", txt, "-y"], { env: mamba1 });
    expect(fromTxt.exitCode, fromTxt.stderr).toBe(0);
  });

  it("conda: no specs and a missing file are errors", async () => {
    const none = await runFakePm("conda", ["create", "-p", path.join(tmp, "a"), "-y", "--json"], { env: env() });
    expect(JSON.parse(none.stdout).exception_name).toBe("CondaValueError");
    const missing = await runFakePm("conda", ["env", "create", "-p", path.join(tmp, "b"), "-f", path.join(tmp, "nope.yml"), "--json"], { env: env() });
    expect(JSON.parse(missing.stdout).exception_name).toBe("EnvironmentFileNotFound");
  });
});

describe("version-dependent flags", () => {
  it("conda before 23.7 has no `env create --yes`", async () => {
    const yml = writeEnvironmentYml(tmp, { dependencies: ["tinytool"] });
    const old = await runFakePm("conda", ["env", "create", "-p", path.join(tmp, "a"), "-f", yml, "--yes"], { env: env({ version: "23.5.2" }) });
    expect(old.exitCode).toBe(2);
    expect(old.stderr).toContain("unrecognized arguments: --yes");
  });
});

describe("prefixes with spaces", () => {
  it("console scripts use a /bin/sh trampoline and still run", async () => {
    const { execFileSync } = await import("node:child_process");
    const prefix = path.join(tmp, "with space", "env");
    const run = await runFakePm("micromamba", createArgs(prefix, "tinyapp"), { env: env() });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(fs.readFileSync(path.join(prefix, "bin", "tinyapp"), "utf8").split("\n")[0]).toBe("#!/bin/sh");
    expect(execFileSync(path.join(prefix, "bin", "tinyapp"), { encoding: "utf8" })).toBe("tinyapp 1.0 with tinylib 2.0\n");
  });
});
