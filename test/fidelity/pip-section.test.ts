// The pip section as the real tools run it: libmamba writes its requirements file (mambaf*) next to the
// environment.yml (TemporaryFile(..., cwd = yml folder) in libmamba/src/api/utils.cpp), runs
// `python -m pip install -r FILE --no-input [--quiet]` without -U, and passes pip's streams through; conda
// prints pip's report on stdout before its --json document. The worker's diagnosis must hold for both.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { diagnoseFailure } from "../../src/env/build/package-manager/diagnose.js";
import { FIXTURE_CHANNEL_URL, fakePmEnv, fakePmPath, makeTempDir, runFakePm, writeEnvironmentYml } from "../support/fake-pm.js";

let tmp: string;
beforeAll(() => {
  tmp = makeTempDir("fidelity-pip-");
});
afterAll(() => {
  for (const dir of fs.readdirSync(tmp)) fs.chmodSync(path.join(tmp, dir), 0o755);
  fs.rmSync(tmp, { recursive: true, force: true });
});

const env = () => fakePmEnv({ home: path.join(tmp, "home"), pkgsDir: path.join(tmp, "pkgs"), rootPrefix: path.join(tmp, "root") });

describe("pip section fidelity", () => {
  it.runIf(process.getuid?.() !== 0)("micromamba needs the environment.yml's folder to be writable, like conda", async () => {
    const dir = path.join(tmp, "readonly");
    fs.mkdirSync(dir);
    const yml = writeEnvironmentYml(dir, { channels: [FIXTURE_CHANNEL_URL, "nodefaults"], dependencies: ["python", { pip: ["tinywheel"] }] });
    fs.chmodSync(dir, 0o555);
    const run = await runFakePm(fakePmPath("micromamba"), ["create", "-p", path.join(tmp, "ro-env"), "-f", yml, "-y"], { env: env() });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain("Could not create temporary file!");
  });

  it("a failed pip under micromamba --json is diagnosed as a pip failure despite pip's text on stdout", async () => {
    const dir = path.join(tmp, "mm");
    fs.mkdirSync(dir);
    const yml = writeEnvironmentYml(dir, { channels: [FIXTURE_CHANNEL_URL, "nodefaults"], dependencies: ["python", { pip: ["nosuchwheel==9"] }] });
    const run = await runFakePm(fakePmPath("micromamba"), ["create", "-p", path.join(tmp, "mm-env"), "-f", yml, "-y", "--json"], { env: env() });
    expect(run.exitCode).toBe(1);
    const d = diagnoseFailure({ stdout: run.stdout, stderrTail: run.stderr.split("\n"), exitCode: 1 });
    expect(d.kind).toBe("pip-failed");
    expect(d.summary).toContain("nosuchwheel");
    expect(fs.readdirSync(dir)).toEqual(["environment.yml"]);
  });

  it.each(["micromamba", "conda"] as const)("%s resolves a nested '-r file' in the pip section against the environment.yml's folder", async (face) => {
    // pip resolves a nested -r relative to the requirements file it reads, which both tools write next to the yml.
    const dir = path.join(tmp, `nested-${face}`);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "extra.txt"), "tinywheel==0.1\n");
    const yml = writeEnvironmentYml(dir, { channels: [FIXTURE_CHANNEL_URL, "nodefaults"], dependencies: ["python", { pip: ["-r extra.txt"] }] });
    const args = face === "conda" ? ["env", "create", "-p", path.join(tmp, `n-${face}`), "-f", yml, "--yes"] : ["create", "-p", path.join(tmp, `n-${face}`), "-f", yml, "-y"];
    const run = await runFakePm(fakePmPath(face), args, { env: env() });
    expect(run.exitCode, run.stderr).toBe(0);
    const version = execFileSync(path.join(tmp, `n-${face}`, "bin", "python"), ["-c", "import tinywheel; print(tinywheel.__version__)"], { encoding: "utf8" });
    expect(version.trim()).toBe("0.1");
  });

  it("conda --json: pip's report precedes the JSON document on stdout and the diagnosis still reads it", async () => {
    const dir = path.join(tmp, "conda");
    fs.mkdirSync(dir);
    const yml = writeEnvironmentYml(dir, { channels: [FIXTURE_CHANNEL_URL, "nodefaults"], dependencies: ["python", { pip: ["nosuchwheel==9"] }] });
    const run = await runFakePm(fakePmPath("conda"), ["env", "create", "-p", path.join(tmp, "c-env"), "-f", yml, "--yes", "--json"], { env: env() });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/^Ran pip subprocess with arguments:/m);
    const d = diagnoseFailure({ stdout: run.stdout, stderrTail: run.stderr.split("\n"), exitCode: 1 });
    expect(d).toMatchObject({ kind: "pip-failed", exceptionName: "CondaEnvException" });
  });
});

describe("variables: in environment.yml", () => {
  // libmamba/src/api/install.cpp reads `variables` only from 2.2; conda writes them to conda-meta/state.
  it.each([
    ["micromamba", "1.5.12", false],
    ["micromamba", "2.0.5", false],
    ["micromamba", "2.2.0", true],
    ["conda", "25.11.1", true],
  ] as const)("%s %s writes conda-meta/state: %s", async (face, version, writes) => {
    const dir = path.join(tmp, `vars-${face}-${version}`);
    fs.mkdirSync(dir);
    const yml = writeEnvironmentYml(dir, { channels: [FIXTURE_CHANNEL_URL, "nodefaults"], dependencies: ["tinylib"], variables: { APP_MODE: "x" } });
    const prefix = path.join(dir, "env");
    const args = face === "conda" ? ["env", "create", "-p", prefix, "-f", yml, "--yes"] : ["create", "-p", prefix, "-f", yml, "-y"];
    const run = await runFakePm(fakePmPath(face), args, { env: { ...env(), FAKE_PM_VERSION: version } });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(fs.existsSync(path.join(prefix, "conda-meta", "state"))).toBe(writes);
  });
});
