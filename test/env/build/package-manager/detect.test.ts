import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { detectPackageManagers, flavourOf, parseVersionOutput, resolveExplicit } from "../../../../src/env/build/package-manager/detect.js";
import { hasCode } from "../../../../src/errors.js";

const FAKE_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../support/fake-pm/bin");
let dir: string;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "hcw-detect-"));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** A PATH directory holding links to the fake faces named `names`. */
async function binDir(name: string, faces: string[]): Promise<string> {
  const d = path.join(dir, name);
  await fs.mkdir(d, { recursive: true });
  for (const face of faces) await fs.symlink(path.join(FAKE_BIN, face), path.join(d, face));
  return d;
}

const NODE_DIR = path.dirname(process.execPath);

describe("parseVersionOutput", () => {
  it.each([
    ["conda 25.11.1\n", "conda", "conda", "25.11.1"],
    ["conda 23.7.4", "/opt/conda/bin/conda", "conda", "23.7.4"],
    ["mamba 1.5.12", "mamba", "mamba", "1.5.12"],
    ["2.0.5\n", "/usr/bin/mamba", "mamba", "2.0.5"],
    ["1.5.12\n", "/usr/bin/micromamba", "micromamba", "1.5.12"],
    ["2.3.0\n", "micromamba", "micromamba", "2.3.0"],
    ["2.0.5", "/x/bin/mm", "micromamba", "2.0.5"],
  ])("%j from %s → %s %s", (output, exe, name, version) => {
    expect(parseVersionOutput(output, exe)).toEqual({ name, version });
  });

  it.each(["", "Python 3.11.4", "usage: foo", "conda", "hello 1.2.3"])("rejects %j", (output) => {
    expect(parseVersionOutput(output, "conda")).toBeUndefined();
  });

  it("tells mamba 1.x from mamba 2 and micromamba", () => {
    expect(flavourOf({ name: "mamba", version: "1.5.12", path: "/m" })).toBe("mamba1");
    expect(flavourOf({ name: "mamba", version: "2.0.5", path: "/m" })).toBe("libmamba");
    expect(flavourOf({ name: "micromamba", version: "1.5.12", path: "/m" })).toBe("libmamba");
    expect(flavourOf({ name: "conda", version: "25.11.1", path: "/c" })).toBe("conda");
  });
});

describe("detectPackageManagers", () => {
  it("prefers mamba, then micromamba, then conda on PATH, probing each face's version", async () => {
    const all = await binDir("all", ["conda", "micromamba", "mamba"]);
    const env = { PATH: `${all}:${NODE_DIR}` };
    const report = await detectPackageManagers({ env });
    expect(report.chosen).toEqual({ name: "mamba", version: "2.0.5", path: path.join(all, "mamba") });
    expect(report.found.map((f) => `${f.name} ${f.version}`)).toEqual(["mamba 2.0.5", "micromamba 1.5.12", "conda 25.11.1"]);

    const noMamba = await binDir("nomamba", ["conda", "micromamba"]);
    expect((await detectPackageManagers({ env: { PATH: `${noMamba}:${NODE_DIR}` } })).chosen?.name).toBe("micromamba");
    const condaOnly = await binDir("conda", ["conda"]);
    expect((await detectPackageManagers({ env: { PATH: `${condaOnly}:${NODE_DIR}` } })).chosen).toMatchObject({ name: "conda", version: "25.11.1" });
  });

  it("detects mamba 1.x (a conda wrapper) from its two-line version text", async () => {
    const d = await binDir("m1", ["mamba"]);
    const report = await detectPackageManagers({ env: { PATH: `${d}:${NODE_DIR}`, FAKE_PM_MAMBA_MAJOR: "1" } });
    expect(report.chosen).toMatchObject({ name: "mamba", version: "1.5.12" });
    expect(flavourOf(report.chosen!)).toBe("mamba1");
  });

  it("finds MAMBA_EXE and CONDA_EXE when nothing is on PATH", async () => {
    const d = await binDir("exe", ["micromamba", "conda"]);
    const report = await detectPackageManagers({ env: { PATH: NODE_DIR, CONDA_EXE: path.join(d, "conda"), MAMBA_EXE: path.join(d, "micromamba") } });
    expect(report.chosen).toMatchObject({ name: "micromamba", path: path.join(d, "micromamba") });
    expect(report.found.map((f) => f.name)).toEqual(["micromamba", "conda"]);
    expect(report.searched.join(" ")).toContain("$MAMBA_EXE");
  });

  it("skips a conda older than 23.7 and reports nothing chosen", async () => {
    const d = await binDir("old", ["conda"]);
    const report = await detectPackageManagers({ env: { PATH: `${d}:${NODE_DIR}`, FAKE_PM_VERSION: "22.9.0" } });
    expect(report.found).toHaveLength(1);
    expect(report.chosen).toBeUndefined();
    await expect(detectPackageManagers({ env: { PATH: `${d}:${NODE_DIR}`, FAKE_PM_VERSION: "22.9.0" }, explicit: "conda" })).rejects.toThrow(/older than 23\.7/);
  });

  it("reports every place searched when none is found", async () => {
    const report = await detectPackageManagers({ env: { PATH: path.join(dir, "empty") }, extraCandidates: [path.join(dir, "bin", "micromamba")] });
    expect(report.chosen).toBeUndefined();
    expect(report.searched).toEqual(["mamba on PATH", "micromamba on PATH", "conda on PATH", "$MAMBA_EXE", "$CONDA_EXE", path.join(dir, "bin", "micromamba")]);
  });
});

describe("explicit --package-manager", () => {
  it("accepts a name on PATH or an absolute path", async () => {
    const d = await binDir("x", ["micromamba", "conda"]);
    const env = { PATH: `${d}:${NODE_DIR}` };
    expect((await detectPackageManagers({ env, explicit: "conda" })).chosen).toMatchObject({ name: "conda", path: path.join(d, "conda") });
    expect((await detectPackageManagers({ env, explicit: path.join(d, "micromamba") })).chosen).toMatchObject({ name: "micromamba" });
  });

  it("refuses missing, relative, flag-like and non-executable values with a clear error", async () => {
    const env = { PATH: path.join(dir, "none") };
    await expect(resolveExplicit("mamba", env)).rejects.toSatisfy((e) => hasCode(e, "E_PACKAGE_MANAGER_NOT_FOUND") && /not found on PATH/.test((e as Error).message));
    await expect(resolveExplicit("bin/conda", env)).rejects.toSatisfy((e) => hasCode(e, "E_CONFIG"));
    await expect(resolveExplicit("--help", env)).rejects.toSatisfy((e) => hasCode(e, "E_CONFIG"));
    const plain = path.join(dir, "conda");
    await fs.writeFile(plain, "not executable");
    await expect(resolveExplicit(plain, env)).rejects.toSatisfy((e) => hasCode(e, "E_PACKAGE_MANAGER_NOT_FOUND") && /chmod/.test((e as Error).message));
  });

  it("refuses an executable that is not a conda-family tool", async () => {
    const fake = path.join(dir, "conda");
    await fs.writeFile(fake, "#!/bin/sh\necho 'Python 3.11.0'\n", { mode: 0o755 });
    await expect(detectPackageManagers({ env: { PATH: "/usr/bin:/bin" }, explicit: fake })).rejects.toSatisfy((e) => hasCode(e, "E_PACKAGE_MANAGER"));
  });
});
