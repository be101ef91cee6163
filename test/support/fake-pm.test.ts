// Tests of the fake package managers against reference/conda-family.md: versions, info keys, a created
// env that really runs, conda-meta layout, the pip section.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  FIXTURE_CHANNEL_URL,
  fakePmEnv,
  linkFakePm,
  makeTempDir,
  runFakePm,
  writeEnvironmentYml,
  type FakePmEnvOptions,
} from "./fake-pm.js";

let tmp: string;
let envOpts: FakePmEnvOptions;

beforeEach(() => {
  tmp = makeTempDir("fake-pm-test-");
  envOpts = { home: path.join(tmp, "home"), pkgsDir: path.join(tmp, "pkgs"), rootPrefix: path.join(tmp, "root") };
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

const env = (extra: FakePmEnvOptions = {}) => fakePmEnv({ ...envOpts, ...extra });

describe("--version", () => {
  it("prints each face's version text", async () => {
    expect((await runFakePm("conda", ["--version"], { env: env() })).stdout).toBe("conda 25.11.1\n");
    expect((await runFakePm("micromamba", ["--version"], { env: env() })).stdout).toBe("1.5.12\n");
    expect((await runFakePm("mamba", ["--version"], { env: env() })).stdout).toBe("2.0.5\n");
    const mamba1 = await runFakePm("mamba", ["--version"], { env: env({ mambaMajor: 1 }) });
    expect(mamba1.stdout).toBe("mamba 1.5.12\nconda 25.11.1\n");
    expect((await runFakePm("conda", ["--version"], { env: env({ version: "23.7.4" }) })).stdout).toBe("conda 23.7.4\n");
  });

  it("takes the face from the invoked name, so a symlink named mamba is mamba", async () => {
    const link = linkFakePm(path.join(tmp, "bin"), "mamba", "conda");
    expect((await runFakePm(link, ["--version"], { env: env() })).stdout).toBe("2.0.5\n");
  });
});

describe("info --json", () => {
  it("conda reports root_prefix, conda_version, envs, pkgs_dirs, platform, channels", async () => {
    const info = JSON.parse((await runFakePm("conda", ["info", "--json"], { env: env() })).stdout);
    for (const key of ["root_prefix", "conda_version", "envs", "pkgs_dirs", "platform", "channels"]) expect(info).toHaveProperty(key);
    expect(info.conda_version).toBe("25.11.1");
    expect(info.pkgs_dirs).toEqual([envOpts.pkgsDir]);
  });

  it("micromamba and mamba 2 use display labels as keys, with the root from -r or MAMBA_ROOT_PREFIX", async () => {
    const micro = JSON.parse((await runFakePm("micromamba", ["info", "--json"], { env: env() })).stdout);
    expect(micro["base environment"]).toBe(envOpts.rootPrefix);
    expect(micro).not.toHaveProperty("root_prefix");
    const other = path.join(tmp, "other-root");
    const mamba = JSON.parse((await runFakePm("mamba", ["-r", other, "info", "--json"], { env: env() })).stdout);
    expect(mamba["base environment"]).toBe(other);
    expect(mamba["mamba version"]).toBe("2.0.5");
  });

  it("mamba 1.x answers with conda's keys", async () => {
    const info = JSON.parse((await runFakePm("mamba", ["info", "--json"], { env: env({ mambaMajor: 1 }) })).stdout);
    expect(info).toHaveProperty("root_prefix");
    expect(info).toHaveProperty("conda_version");
  });
});

describe.each([
  { face: "conda" as const, args: (p: string, f: string) => ["env", "create", "-p", p, "-f", f, "--yes", "--json"] },
  { face: "micromamba" as const, args: (p: string, f: string) => ["create", "-p", p, "-f", f, "-y", "--json"] },
  { face: "mamba" as const, args: (p: string, f: string) => ["env", "create", "-p", p, "-f", f, "-y", "--json"] },
])("$face creates a working env from environment.yml", ({ face, args }) => {
  it("links python (pulling pip), tinyapp and tinylib 2, tinytool, tinyactivate; writes conda-meta", async () => {
    const yml = writeEnvironmentYml(tmp, {
      dependencies: ["python=3.11", "tinyapp", "tinytool", "tinyactivate"],
      variables: { APP_MODE: "test" },
    });
    const prefix = path.join(tmp, "envs", "e1");
    const run = await runFakePm(face, args(prefix, yml), { env: env() });
    expect(run.exitCode, run.stderr).toBe(0);
    // With --json conda prints NUL-terminated fetch records, then the result document (last segment).
    const doc = JSON.parse(lastJsonDocument(run.stdout));
    expect(doc.success).toBe(true);
    expect(doc.prefix).toBe(prefix);
    const linked = doc.actions.LINK.map((l: { name: string }) => l.name).sort();
    expect(linked).toEqual(["pip", "python", "tinyactivate", "tinyapp", "tinylib", "tinytool"]);

    const py = path.join(prefix, "bin", "python");
    const out = execFileSync(py, ["-c", "import sys, tinylib; print(sys.prefix); print(tinylib.__version__)"], { encoding: "utf8" });
    expect(out.split("\n").slice(0, 2)).toEqual([prefix, "2.0"]);
    expect(execFileSync(path.join(prefix, "bin", "tinyapp"), { encoding: "utf8" })).toBe("tinyapp 1.0 with tinylib 2.0\n");
    expect(execFileSync(path.join(prefix, "bin", "tinytool"), { encoding: "utf8" })).toBe("tinytool 0.1\n");
    expect(fs.readFileSync(path.join(prefix, "bin", "tinyapp"), "utf8").split("\n")[0]).toBe(`#!${prefix}/bin/python3.11`);
    expect(execFileSync(py, ["-m", "pip", "--version"], { encoding: "utf8" })).toMatch(/^pip /);

    const activate = fs.readFileSync(path.join(prefix, "etc", "conda", "activate.d", "tinyactivate.sh"), "utf8");
    expect(activate).toContain("export TINYACTIVATE_HOME=");
    const sourced = execFileSync("sh", ["-c", '. "$1"; printf %s "$TINYACTIVATE_HOME"', "sh", path.join(prefix, "etc", "conda", "activate.d", "tinyactivate.sh")], {
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "", CONDA_PREFIX: prefix },
    });
    expect(sourced).toBe(`${prefix}/share/tinyactivate`);
    expect(fs.existsSync(path.join(prefix, "etc", "conda", "deactivate.d", "tinyactivate.sh"))).toBe(true);

    const history = fs.readFileSync(path.join(prefix, "conda-meta", "history"), "utf8");
    expect(history).toMatch(/^==> \d{4}-\d\d-\d\d \d\d:\d\d:\d\d <==\n# cmd: /);
    expect(history).toContain(`+${FIXTURE_CHANNEL_URL}::tinylib-2.0-py_0\n`);
    expect(history).toContain(`+${FIXTURE_CHANNEL_URL}::pip-23.0.1-py_0\n`);
    const record = JSON.parse(fs.readFileSync(path.join(prefix, "conda-meta", "tinyapp-1.0-py_0.json"), "utf8"));
    expect(record).toMatchObject({ name: "tinyapp", version: "1.0", build: "py_0", channel: FIXTURE_CHANNEL_URL, requested_spec: "tinyapp" });
    expect(record.depends).toEqual(["python", "tinylib >=2"]);
    expect(record.files).toContain("bin/tinyapp");
    expect(record.url).toBe(`${FIXTURE_CHANNEL_URL}/noarch/tinyapp-1.0-py_0.tar.bz2`);
    // libmamba before 2.2 ignores `variables:` (micromamba 1.5.12 and mamba 2.0.5 here).
    if (face === "conda") expect(JSON.parse(fs.readFileSync(path.join(prefix, "conda-meta", "state"), "utf8"))).toEqual({ env_vars: { APP_MODE: "test" } });
    else expect(fs.existsSync(path.join(prefix, "conda-meta", "state"))).toBe(false);
    expect(fs.existsSync(path.join(prefix, "conda-meta", "created_at"))).toBe(face === "conda");
    const registered = fs.readFileSync(path.join(envOpts.home!, ".conda", "environments.txt"), "utf8");
    expect(registered.split("\n")).toContain(prefix);
    expect(fs.existsSync(path.join(envOpts.pkgsDir!, "tinylib-2.0-py_0", "info", "repodata_record.json"))).toBe(true);
  });
});

describe("pip section", () => {
  it("installs the fixture wheel with python -m pip install -U -r, and conda writes the file next to the yml", async () => {
    const ymlDir = path.join(tmp, "spec");
    fs.mkdirSync(ymlDir);
    const yml = writeEnvironmentYml(ymlDir, { dependencies: ["python", "tinylib", { pip: ["tinywheel==0.1"] }] });
    const prefix = path.join(tmp, "e-pip");
    const run = await runFakePm("conda", ["env", "create", "-p", prefix, "-f", yml, "--yes"], { env: env() });
    expect(run.exitCode, run.stderr).toBe(0);
    const pipArgs = JSON.parse(run.stdout.split("Ran pip subprocess with arguments:\n")[1]!.split("\n")[0]!);
    expect(pipArgs.slice(0, 6)).toEqual([path.join(prefix, "bin", "python"), "-m", "pip", "install", "-U", "-r"]);
    expect(path.dirname(pipArgs[6])).toBe(ymlDir);
    expect(path.basename(pipArgs[6])).toMatch(/^condaenv\.[0-9a-f]+\.requirements\.txt$/);
    expect(run.stderr).toContain("Successfully installed tinywheel-0.1");
    const version = execFileSync(path.join(prefix, "bin", "python"), ["-c", "import tinywheel; print(tinywheel.__version__)"], { encoding: "utf8" });
    expect(version.trim()).toBe("0.1");
    const listed = JSON.parse(execFileSync(path.join(prefix, "bin", "python"), ["-m", "pip", "list", "--format=json"], { encoding: "utf8" }));
    expect(listed).toEqual(expect.arrayContaining([{ name: "tinywheel", version: "0.1" }, { name: "tinylib", version: "2.0" }]));
    expect(fs.readdirSync(ymlDir)).toEqual(["environment.yml"]);
  });

  it.each([
    { face: "conda" as const, message: "CondaEnvException: Pip failed" },
    { face: "micromamba" as const, message: "critical libmamba pip failed to install packages" },
  ])("$face: a failing pip leaves the half-built env and exits 1", async ({ face, message }) => {
    const yml = writeEnvironmentYml(tmp, { dependencies: ["python", "tinylib", { pip: ["nosuchwheel==9"] }] });
    const prefix = path.join(tmp, "e-pipfail");
    const run = await runFakePm(face, ["env", "create", "-p", prefix, "-f", yml, "-y"], { env: env() });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain("nosuchwheel");
    expect(fs.existsSync(path.join(prefix, "conda-meta", "tinylib-2.0-py_0.json"))).toBe(true);
    expect(fs.existsSync(path.join(prefix, "bin", "python"))).toBe(true);
  });

  it("conda --json reports PIP in the actions, and a pip failure as pip's report (stdout, as real conda) then one JSON document", async () => {
    const good = writeEnvironmentYml(tmp, { dependencies: ["python", { pip: ["tinywheel"] }] }, "good.yml");
    const ok = await runFakePm("conda", ["env", "create", "-p", path.join(tmp, "ok"), "-f", good, "--yes", "--json"], { env: env() });
    expect(JSON.parse(lastJsonDocument(ok.stdout)).actions.PIP).toEqual(["tinywheel"]);
    const yml = writeEnvironmentYml(tmp, { dependencies: ["python", { pip: ["nosuchwheel"] }] });
    const run = await runFakePm("conda", ["env", "create", "-p", path.join(tmp, "e"), "-f", yml, "--yes", "--json"], { env: env() });
    expect(run.exitCode).toBe(1);
    expect(ok.stdout).toContain('"finished":true');
    expect(run.stdout).toContain("Ran pip subprocess with arguments:");
    expect(run.stderr).toContain("Pip subprocess error:");
    const doc = run.stdout.slice(run.stdout.lastIndexOf("\n{\n") + 1);
    expect(JSON.parse(doc)).toMatchObject({ exception_name: "CondaEnvException", message: "Pip failed" });
  });
});

describe("output without --json", () => {
  it("prints one progress line per linked package, and nothing with -q", async () => {
    const yml = writeEnvironmentYml(tmp, { dependencies: ["tinytool", "tinyactivate"] });
    const loud = await runFakePm("micromamba", ["create", "-p", path.join(tmp, "a"), "-f", yml, "-y"], { env: env() });
    expect(loud.stdout).toContain("Linking tinytool-0.1-0\n");
    expect(loud.stdout).toContain("Linking tinyactivate-1.0-0\n");
    const conda = await runFakePm("conda", ["create", "-p", path.join(tmp, "b"), "-f", yml, "--yes"], { env: env() });
    expect(conda.stdout).toContain("linking tinytool-0.1-0\n");
    const quiet = await runFakePm("conda", ["create", "-p", path.join(tmp, "c"), "-f", yml, "--yes", "-q"], { env: env() });
    expect(quiet.exitCode).toBe(0);
    expect(quiet.stdout).toBe("");
  });
});

/** The document after conda's NUL-terminated `{"fetch": ...}` progress records (the whole text without them). */
function lastJsonDocument(stdout: string): string {
  return stdout.slice(stdout.lastIndexOf("\0") + 1);
}
