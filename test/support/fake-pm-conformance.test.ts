// Reference facts that hold for the real tools too: these run against packageManagerTarget(), i.e. the fake
// by default, or a real conda/mamba/micromamba with HYPHA_CONDA_TEST_PACKAGE_MANAGER + HYPHA_CONDA_TEST_CHANNEL.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fakePmEnv, fakePmPath, FIXTURE_CHANNEL_URL, makeTempDir, runFakePm, writeEnvironmentYml } from "./fake-pm.js";
import { itFakeOnly, packageManagerEnv, packageManagerTarget, REAL_CHANNEL_ENV, REAL_PM_ENV } from "./package-manager-target.js";
import { FACE_ROWS, type FaceRow, type Subject } from "./conformance-rows.js";

const target = packageManagerTarget("micromamba");
let tmp: string;
let env: Record<string, string>;
beforeAll(() => {
  tmp = makeTempDir("fake-pm-conf-");
  env = packageManagerEnv(target, { home: path.join(tmp, "home"), pkgsDir: path.join(tmp, "pkgs"), rootPrefix: path.join(tmp, "root") });
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The version the target reports (the fake's default when it is the fake). */
const targetVersion = (): string => {
  const out = execFileSync(target.path, ["--version"], { env, encoding: "utf8" });
  return /(\d+\.\d+\.\d+)\s*$/.exec(out.trim().split("\n")[0]!)![1]!;
};

/** A create from a yml holding only the spec's channels, on the command line each face needs (conda ≥ 26.7: -c, older: nodefaults). */
const createFromYml = (prefix: string, deps: string[], file: string) => {
  if (target.name !== "conda") return ["create", "-p", prefix, "-f", writeEnvironmentYml(tmp, { channels: [target.channelUrl], dependencies: deps }, file), "-y", "--json"];
  const [major = 0, minor = 0] = targetVersion().split(".").map(Number);
  if (major > 26 || (major === 26 && minor >= 7)) {
    const yml = writeEnvironmentYml(tmp, { channels: [target.channelUrl], dependencies: deps }, file);
    return ["create", "-p", prefix, "-f", yml, "--override-channels", "-c", target.channelUrl, "--yes", "--json"];
  }
  return ["env", "create", "-p", prefix, "-f", writeEnvironmentYml(tmp, { channels: [target.channelUrl, "nodefaults"], dependencies: deps }, file), "--yes", "--json"];
};

/** libmamba's LINK entries carry url and checksums; conda's (dist_fields_dump) do not, its FETCH entries do. */
const namedRecords = (doc: { actions: { LINK?: Array<{ url?: string }>; FETCH?: unknown[] } }) => (doc.actions.LINK?.[0]?.url ? doc.actions.LINK : doc.actions.FETCH) ?? [];

describe(`reference facts against ${target.reason}`, () => {
  it("--version has the flavour's format", async () => {
    const run = await runFakePm(target.path, ["--version"], { env });
    expect(run.exitCode).toBe(0);
    const pattern = { conda: /^conda \d+\.\d+\.\d+\n$/, mamba: /^(\d+\.\d+\.\d+\n|mamba \d+\.\d+\.\d+\nconda \d+\.\d+\.\d+\n)$/, micromamba: /^\d+\.\d+\.\d+\n$/ }[target.name];
    expect(run.stdout).toMatch(pattern);
  });

  it("creates an env whose python runs, with pip pulled in by python, a console script and an activation script", async () => {
    const prefix = path.join(tmp, "envs", "full");
    const run = await runFakePm(target.path, createFromYml(prefix, ["python", "tinyapp", "tinyactivate", "tinytool"], "environment.yml"), { env });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).success).toBe(true);
    const out = execFileSync(path.join(prefix, "bin", "python"), ["-c", "import tinylib, pip; print(tinylib.__version__)"], { encoding: "utf8" });
    expect(out.trim()).toBe("2.0");
    expect(execFileSync(path.join(prefix, "bin", "tinyapp"), { encoding: "utf8" })).toContain("tinylib 2.0");
    expect(execFileSync(path.join(prefix, "bin", "tinytool"), { encoding: "utf8" })).toContain("tinytool 0.1");
    expect(fs.readFileSync(path.join(prefix, "etc", "conda", "activate.d", "tinyactivate.sh"), "utf8")).toContain("TINYACTIVATE_HOME");
    const meta = fs.readdirSync(path.join(prefix, "conda-meta"));
    expect(meta).toContain("history");
    expect(meta.some((f) => /^pip-.*\.json$/.test(f))).toBe(true);
    expect(fs.readFileSync(path.join(prefix, "conda-meta", "history"), "utf8")).toMatch(/^\+.*::tinylib-2\.0-/m);
  });

  it("fails with exit code 1 on a missing package and on unsatisfiable specs", async () => {
    for (const deps of [["nosuchpkg-xyz"], ["tinyapp", "tinylib<2"]]) {
      const run = await runFakePm(target.path, createFromYml(path.join(tmp, "envs", "bad"), deps, "bad.yml"), { env });
      expect(run.exitCode).toBe(1);
    }
  });

  it("libmamba 2.8 (the fake's face) adds pip to a requested python only, as the real 2.8.1 measured here", async () => {
    const linked = async (specs: string[]) => {
      const run = await runFakePm(fakePmPath("micromamba"), ["create", "-p", path.join(tmp, "envs", "pip-rule"), "--dry-run", "--json", "--override-channels", "-c", FIXTURE_CHANNEL_URL, ...specs], { env: { ...fakePmEnv({ home: path.join(tmp, "home") }), FAKE_PM_VERSION: "2.8.1", CONDA_PKGS_DIRS: path.join(tmp, "rule-pkgs") } });
      expect(run.exitCode, run.stderr).toBe(0);
      return (namedRecords(JSON.parse(run.stdout)) as Array<{ name: string }>).map((p) => p.name).sort();
    };
    expect(await linked(["tinyapp"])).toEqual(["python", "tinyapp", "tinylib"]);
    expect(await linked(["python", "tinyapp"])).toEqual(["pip", "python", "tinyapp", "tinylib"]);
  });

  it("a dry run names every package's URL and a checksum (libmamba in LINK, conda in FETCH), creating nothing", async () => {
    const prefix = path.join(tmp, "envs", "dry");
    const run = await runFakePm(target.path, ["create", "-p", prefix, "--dry-run", "--json", "--override-channels", "-c", target.channelUrl, "tinyapp"], { env: { ...env, CONDA_PKGS_DIRS: path.join(tmp, "dry-pkgs") } });
    expect(run.exitCode, run.stderr).toBe(0);
    const doc = JSON.parse(run.stdout.slice(run.stdout.indexOf("{")));
    expect(doc).toMatchObject({ success: true, dry_run: true });
    const named = namedRecords(doc) as Array<{ name: string; url: string; md5?: string; sha256?: string }>;
    // libmamba ≥ 2.8 adds pip only to a python the request names; here python is only tinyapp's dependency.
    const [major = 0, minor = 0] = targetVersion().split(".").map(Number);
    const terseLibmamba = target.name !== "conda" && (major > 2 || (major === 2 && minor >= 8)) && !/^mamba /.test(targetVersion());
    expect(named.map((p) => p.name).sort()).toEqual(terseLibmamba ? ["python", "tinyapp", "tinylib"] : ["pip", "python", "tinyapp", "tinylib"]);
    for (const p of named) {
      expect(p.url.startsWith(`${target.channelUrl}/`)).toBe(true);
      expect(p.md5 ?? p.sha256).toMatch(/^[0-9a-f]+$/);
    }
    expect(fs.existsSync(prefix)).toBe(false);
  });

  it("an @EXPLICIT list installs exactly the listed URLs", async () => {
    const prefix = path.join(tmp, "envs", "explicit");
    const list = path.join(tmp, "explicit.txt");
    const dry = await runFakePm(target.path, ["create", "-p", path.join(tmp, "envs", "dry2"), "--dry-run", "--json", "--override-channels", "-c", target.channelUrl, "tinytool"], { env: { ...env, CONDA_PKGS_DIRS: path.join(tmp, "dry2-pkgs") } });
    const doc = JSON.parse(dry.stdout.slice(dry.stdout.indexOf("{")));
    const tool = (namedRecords(doc) as Array<{ name: string; url: string; md5: string }>).find((p) => p.name === "tinytool")!;
    fs.writeFileSync(list, `@EXPLICIT\n${tool.url}#${tool.md5}\n`);
    const run = await runFakePm(target.path, ["create", "-p", prefix, "--file", list, "--yes", "--json"], { env });
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(fs.readdirSync(path.join(prefix, "conda-meta")).filter((f) => f.endsWith(".json") && f !== "state")).toEqual(["tinytool-0.1-0.json"]);
    expect(execFileSync(path.join(prefix, "bin", "tinytool"), { encoding: "utf8" })).toContain("tinytool 0.1");
  });

  itFakeOnly("the fake reports which target it is", () => {
    expect(target.kind).toBe("fake");
  });
});

describe("packageManagerTarget", () => {
  it("uses the fake unless a real tool is configured", () => {
    const fake = packageManagerTarget("conda", {});
    expect(fake).toMatchObject({ kind: "fake", name: "conda" });
    expect(fake.reason).toContain(REAL_PM_ENV);
  });

  it("needs both variables and an executable for a real tool", () => {
    const someExecutable = process.execPath;
    expect(() => packageManagerTarget("conda", { [REAL_PM_ENV]: someExecutable })).toThrow(REAL_CHANNEL_ENV);
    expect(() => packageManagerTarget("conda", { [REAL_PM_ENV]: "relative/conda", [REAL_CHANNEL_ENV]: "file:///c" })).toThrow("absolute path");
    const real = packageManagerTarget("conda", { [REAL_PM_ENV]: someExecutable, [REAL_CHANNEL_ENV]: "file:///srv/channel" });
    expect(real).toMatchObject({ kind: "real", path: someExecutable, channelUrl: "file:///srv/channel" });
  });
});

/** Runs a row on the fake (with the row's version) or on the real target, in a fresh directory. */
function subjectFor(row: FaceRow, kind: "fake" | "real"): Subject {
  const dir = fs.mkdtempSync(path.join(tmp, `${kind}-`));
  const common = { pkgsDir: path.join(dir, "pkgs"), rootPrefix: path.join(dir, "root") };
  if (kind === "fake") {
    return { path: fakePmPath(row.tool), channelUrl: FIXTURE_CHANNEL_URL, dir, env: (home, extra) => fakePmEnv({ ...common, home, version: row.fakeVersion, extra }) };
  }
  return { path: target.path, channelUrl: target.channelUrl, dir, env: (home, extra) => packageManagerEnv(target, { ...common, home, extra }) };
}

describe("each face against the reference facts (and against the real tool of that face, when configured)", () => {
  let realVersion = "";
  beforeAll(() => {
    if (target.kind === "real") realVersion = targetVersion();
  });

  it("gives each row to its own fake version and to no other face's", () => {
    const faces = [...new Set(FACE_ROWS.map((r) => `${r.tool} ${r.fakeVersion}`))];
    for (const row of FACE_ROWS) {
      const claimed = faces.filter((f) => row.appliesTo(f.split(" ")[0] as FaceRow["tool"], f.split(" ")[1]!));
      expect(claimed, row.fact).toEqual([`${row.tool} ${row.fakeVersion}`]);
    }
    expect(FACE_ROWS.find((r) => r.appliesTo("mamba", "1.5.12"))).toBeUndefined();
  });

  it.each(FACE_ROWS.map((row) => [`${row.face}: ${row.fact}`, row] as const))("%s", async (_name, row) => {
    const fake = await row.observe(subjectFor(row, "fake"));
    expect(fake).toEqual(row.expected);
    if (target.kind === "real" && row.appliesTo(target.name, realVersion)) {
      const real = await row.observe(subjectFor(row, "real"));
      expect(real, `real ${target.name} ${realVersion}`).toEqual(fake);
    }
  }, 400_000);
});
