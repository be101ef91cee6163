// Fidelity of the fake micromamba / mamba 2 settings to libmamba's configuration (docs/fidelity-audit.md):
// `pkgs_dirs` and `channels` read only CONDA_PKGS_DIRS / CONDA_CHANNELS, and there is no --pkgs-dirs flag.
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURE_CHANNEL_URL, fakePmEnv, fakePmPath, makeTempDir, runFakePm, writeEnvironmentYml } from "../support/fake-pm.js";

let tmp: string;
beforeAll(() => {
  tmp = makeTempDir("fidelity-fake-pm-");
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function baseEnv(extra: Record<string, string>): Record<string, string> {
  const env = fakePmEnv({ home: path.join(tmp, "home"), rootPrefix: path.join(tmp, "root") });
  delete env.CONDA_PKGS_DIRS;
  delete env.MAMBA_PKGS_DIRS;
  delete env.CONDA_CHANNELS;
  delete env.MAMBA_CHANNELS;
  return { ...env, ...extra };
}

async function packageCacheOf(face: "micromamba" | "mamba", env: Record<string, string>): Promise<string[]> {
  const run = await runFakePm(fakePmPath(face), ["info", "--json"], { env });
  expect(run.exitCode, run.stderr).toBe(0);
  return JSON.parse(run.stdout)["package cache"] as string[];
}

describe.each(["micromamba", "mamba"] as const)("fake %s settings follow libmamba", (face) => {
  it("ignores MAMBA_PKGS_DIRS and uses <root>/pkgs", async () => {
    const cache = await packageCacheOf(face, baseEnv({ MAMBA_PKGS_DIRS: path.join(tmp, "mamba-pkgs") }));
    expect(cache).toEqual([path.join(tmp, "root", "pkgs")]);
  });

  it("honours CONDA_PKGS_DIRS", async () => {
    const cache = await packageCacheOf(face, baseEnv({ CONDA_PKGS_DIRS: path.join(tmp, "conda-pkgs") }));
    expect(cache).toEqual([path.join(tmp, "conda-pkgs")]);
  });

  it("rejects --pkgs-dirs as an unknown option", async () => {
    const yml = writeEnvironmentYml(tmp, { channels: [FIXTURE_CHANNEL_URL, "nodefaults"], dependencies: ["tinylib"] }, `${face}-pkgs.yml`);
    const run = await runFakePm(fakePmPath(face), ["create", "-p", path.join(tmp, `${face}-env`), "-f", yml, "-y", "--pkgs-dirs", path.join(tmp, "x")], { env: baseEnv({}) });
    expect(run.exitCode).not.toBe(0);
    expect(fs.existsSync(path.join(tmp, `${face}-env`, "conda-meta"))).toBe(false);
  });

  it("takes configured channels from CONDA_CHANNELS, not MAMBA_CHANNELS", async () => {
    const info = async (extra: Record<string, string>) => {
      const run = await runFakePm(fakePmPath(face), ["info", "--json"], { env: baseEnv(extra) });
      return JSON.stringify(JSON.parse(run.stdout));
    };
    expect(await info({ MAMBA_CHANNELS: "only-in-mamba-var" })).not.toContain("only-in-mamba-var");
    expect(await info({ CONDA_CHANNELS: "only-in-conda-var" })).toContain("only-in-conda-var");
  });
});
