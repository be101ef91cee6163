// The fakes' knobs: the cold-cache race, per-package delay, crash after N packages, hang, invocation log.
import { execa } from "execa";
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FIXTURE_CHANNEL_URL, fakePmEnv, fakePmPath, makeTempDir, readInvocationLog, runFakePm, type FakePmEnvOptions, type FakePmName } from "./fake-pm.js";

let tmp: string;
let envOpts: FakePmEnvOptions;
const children: Array<ReturnType<typeof execa>> = [];
beforeEach(() => {
  tmp = makeTempDir("fake-pm-knobs-");
  envOpts = { home: path.join(tmp, "home"), pkgsDir: path.join(tmp, "pkgs"), rootPrefix: path.join(tmp, "root") };
});
afterEach(async () => {
  for (const child of children.splice(0)) {
    child.kill("SIGKILL");
    await child.catch(() => undefined);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});
const env = (extra: FakePmEnvOptions = {}) => fakePmEnv({ ...envOpts, ...extra });
const createArgs = (prefix: string, ...specs: string[]) => ["create", "-p", prefix, "-y", "--override-channels", "-c", FIXTURE_CHANNEL_URL, ...specs];

describe("cold package cache race (FAKE_PM_CORRUPT_COLD_CACHE=1)", () => {
  const runThree = (face: FakePmName, pkgsDirFor: (i: number) => string, extractDelayMs: number, extra: { version?: string; json?: boolean } = {}) =>
    Promise.all(
      [0, 1, 2].map((i) =>
        runFakePm(face, [...createArgs(path.join(tmp, `env${i}`), "python", "tinylib"), ...(extra.json ? ["--json"] : [])], {
          env: env({ corruptColdCache: true, extractDelayMs, pkgsDir: pkgsDirFor(i), version: extra.version }),
        }),
      ),
    );

  it("conda: concurrent creates on one cold cache fail with CondaVerificationError for pip", async () => {
    const pkgs = path.join(tmp, "shared-pkgs");
    const runs = await runThree("conda", () => pkgs, 2500);
    const failed = runs.filter((r) => r.exitCode !== 0);
    expect(failed.length).toBeGreaterThanOrEqual(1);
    for (const run of failed) {
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toContain(`CondaVerificationError: The package for pip located at ${pkgs}/pip-23.0.1-py_0 appears to be corrupted`);
    }
  });

  it("conda 26.7.1 --json: the loser reports a CondaMultiError of SafetyError and CondaVerificationError", async () => {
    const pkgs = path.join(tmp, "shared-pkgs");
    const runs = await runThree("conda", () => pkgs, 2500, { version: "26.7.1", json: true });
    const failed = runs.filter((r) => r.exitCode !== 0);
    expect(failed.length).toBeGreaterThanOrEqual(1);
    for (const run of failed) {
      const doc = JSON.parse(run.stdout) as { exception_name: string; error: string; errors: Array<{ exception_name: string; message: string }> };
      expect(doc).toMatchObject({ exception_name: "CondaMultiError", error: "Multiple Errors Encountered." });
      expect(doc.errors.map((e) => e.exception_name)).toEqual(["SafetyError", "CondaVerificationError"]);
      expect(doc.errors[0]!.message).toContain(`The package for pip located at ${pkgs}/pip-23.0.1-py_0\nappears to be corrupted.`);
    }
  });

  it("micromamba: the loser reports an incorrect download", async () => {
    const pkgs = path.join(tmp, "shared-pkgs");
    const runs = await runThree("micromamba", () => pkgs, 2500);
    const failed = runs.filter((r) => r.exitCode !== 0);
    expect(failed.length).toBeGreaterThanOrEqual(1);
    for (const run of failed) expect(run.stderr).toContain("critical libmamba Found incorrect download: pip. Aborting");
  });

  it("all succeed with one package cache per create, or with a warm shared cache", async () => {
    const separate = await runThree("conda", (i) => path.join(tmp, `pkgs${i}`), 300);
    expect(separate.map((r) => r.exitCode)).toEqual([0, 0, 0]);
    const warm = path.join(tmp, "warm-pkgs");
    const first = await runFakePm("conda", createArgs(path.join(tmp, "warmup"), "python", "tinylib"), { env: env({ pkgsDir: warm }) });
    expect(first.exitCode, first.stderr).toBe(0);
    for (const i of [0, 1, 2]) fs.rmSync(path.join(tmp, `env${i}`), { recursive: true, force: true });
    const warmRuns = await runThree("conda", () => warm, 300);
    expect(warmRuns.map((r) => r.exitCode)).toEqual([0, 0, 0]);
  });

  it("without the knob, concurrent creates on one cold cache wait for each other and succeed", async () => {
    const pkgs = path.join(tmp, "shared-pkgs");
    const runs = await Promise.all(
      [0, 1].map((i) => runFakePm("micromamba", createArgs(path.join(tmp, `e${i}`), "tinytool", "tinyactivate"), { env: env({ pkgsDir: pkgs }) })),
    );
    expect(runs.map((r) => r.exitCode)).toEqual([0, 0]);
  });
});

describe("FAKE_PM_CRASH_AFTER", () => {
  it("SIGKILLs itself after N linked packages, leaving a partial prefix", async () => {
    const prefix = path.join(tmp, "partial");
    const run = await runFakePm("micromamba", createArgs(prefix, "tinytool", "tinyactivate", "tinylib"), { env: env({ crashAfterPackages: 2 }) });
    expect(run.signal).toBe("SIGKILL");
    const records = fs.readdirSync(path.join(prefix, "conda-meta")).filter((f) => f.endsWith(".json"));
    expect(records).toHaveLength(2);
    expect(fs.existsSync(path.join(prefix, "conda-meta", "history"))).toBe(true);
  });
});

describe("FAKE_PM_DELAY_MS", () => {
  it("sleeps before each package, so a create can be observed half-way", async () => {
    const prefix = path.join(tmp, "slow");
    const child = execa(fakePmPath("micromamba"), createArgs(prefix, "tinytool", "tinyactivate"), {
      env: env({ delayMsPerPackage: 1500 }),
      extendEnv: false,
      reject: false,
    });
    children.push(child);
    await new Promise<void>((resolve) => {
      let seen = "";
      child.stdout!.on("data", (chunk: Buffer) => {
        seen += chunk.toString();
        if (seen.includes("Linking ")) resolve();
      });
    });
    const records = fs.readdirSync(path.join(prefix, "conda-meta")).filter((f) => f.endsWith(".json"));
    expect(records).toHaveLength(1);
  });
});

describe("FAKE_PM_HANG and FAKE_PM_LOG", () => {
  it.each(["SIGTERM", "SIGKILL"] as const)("a hanging fake dies on %s", async (signal) => {
    const log = path.join(tmp, "calls.jsonl");
    const child = execa(fakePmPath("conda"), ["env", "create", "-p", path.join(tmp, "h"), "-f", "x.yml"], {
      env: env({ hang: true, invocationLog: log }),
      extendEnv: false,
      reject: false,
    });
    children.push(child);
    while (readInvocationLog(log).length === 0) await new Promise((r) => setTimeout(r, 20));
    expect(fs.existsSync(path.join(tmp, "h"))).toBe(false);
    child.kill(signal);
    const result = await child;
    expect(result.signal).toBe(signal);
  });

  it("logs argv, cwd, pid and only CONDA_/MAMBA_/PIP_/HYPHA_ variables plus HOME and PATH, one line per call", async () => {
    const log = path.join(tmp, "calls.jsonl");
    const extra = { HYPHA_TOKEN: "tok-123", CONDA_SOMETHING: "1", UNRELATED_SECRET: "nope" };
    const e = env({ invocationLog: log, extra });
    await runFakePm("conda", ["--version"], { env: e, cwd: tmp });
    await runFakePm("micromamba", ["info", "--json"], { env: e, cwd: tmp });
    const calls = readInvocationLog(log);
    expect(calls.map((c) => [c.face, c.argv])).toEqual([
      ["conda", ["--version"]],
      ["micromamba", ["info", "--json"]],
    ]);
    expect(calls[0]!.cwd).toBe(fs.realpathSync(tmp));
    expect(new Set(calls.map((c) => c.pid)).size).toBe(2);
    expect(calls[0]!.env.HYPHA_TOKEN).toBe("tok-123");
    expect(calls[0]!.env.CONDA_SOMETHING).toBe("1");
    expect(calls[0]!.env.HOME).toBe(envOpts.home);
    expect(calls[0]!.env).not.toHaveProperty("UNRELATED_SECRET");
    expect(Object.keys(calls[0]!.env).every((k) => /^(CONDA_|MAMBA_|PIP_|HYPHA_)/.test(k) || k === "HOME" || k === "PATH")).toBe(true);
  });
});

describe("package cache lock", () => {
  it("takes over the lock of a dead holder instead of reporting corruption", async () => {
    const pkgs = path.join(tmp, "pkgs-stale");
    fs.mkdirSync(pkgs, { recursive: true });
    const dead = execa(process.execPath, ["-e", "0"]);
    await dead;
    fs.writeFileSync(path.join(pkgs, ".fake-pm-extracting"), String(dead.pid));
    const run = await runFakePm("conda", createArgs(path.join(tmp, "e"), "tinytool"), { env: env({ pkgsDir: pkgs, corruptColdCache: true, extractDelayMs: 0 }) });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(fs.existsSync(path.join(pkgs, ".fake-pm-extracting"))).toBe(false);
  });
});
