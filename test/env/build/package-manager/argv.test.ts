import { describe, expect, it } from "vitest";
import { buildCreateArgs, buildToolEnv, filterToolEnv } from "../../../../src/env/build/package-manager/argv.js";
import { cacheLayout } from "../../../../src/env/cache/cache-layout.js";
import type { PackageManagerInfo } from "../../../../src/env/types.js";

const layout = cacheLayout("/cache");
const target = { prefix: "/cache/envs/tinylib-0123456789abcdef", envFile: "/tmp/w/environment.yml", channels: ["file:///srv/channel", "conda-forge"] };
const pm = (name: PackageManagerInfo["name"], version: string): PackageManagerInfo => ({ name, version, path: `/bin/${name}` });

describe("buildCreateArgs", () => {
  it.each(["23.7.4", "25.11.1", "26.5.0"])("conda %s: the env installers' env create with --yes --json (nodefaults in the file)", (version) => {
    expect(buildCreateArgs(pm("conda", version), target, layout)).toEqual(["env", "create", "-p", target.prefix, "-f", target.envFile, "--yes", "--json"]);
  });
  it.each(["26.7.0", "26.7.1", "27.1.0"])("conda %s: create with --override-channels and each spec channel, in order", (version) => {
    expect(buildCreateArgs(pm("conda", version), target, layout)).toEqual([
      "create", "-p", target.prefix, "-f", target.envFile, "--override-channels", "-c", "file:///srv/channel", "-c", "conda-forge", "--yes", "--json",
    ]);
  });
  it("mamba 1.x wrapping conda ≥ 26.7 also names the channels on the command line", () => {
    const args = buildCreateArgs({ ...pm("mamba", "1.5.12"), condaVersion: "26.7.1" }, target, layout);
    expect(args).toEqual(["env", "create", "-p", target.prefix, "-f", target.envFile, "--override-channels", "-c", "file:///srv/channel", "-c", "conda-forge", "--yes"]);
  });
  it("mamba 1.x: conda's env create, --yes, no --json", () => {
    expect(buildCreateArgs(pm("mamba", "1.5.12"), target, layout)).toEqual(["env", "create", "-p", target.prefix, "-f", target.envFile, "--yes"]);
  });
  it.each([pm("mamba", "2.0.5"), pm("micromamba", "1.5.12"), pm("micromamba", "2.3.0")])("$name $version: create -y --json -r ROOT", (info) => {
    expect(buildCreateArgs(info, target, layout)).toEqual(["create", "-p", target.prefix, "-f", target.envFile, "-y", "--json", "-r", "/cache/mamba-root"]);
  });
  it("refuses a path that could read as a flag", () => {
    expect(() => buildCreateArgs(pm("conda", "25.1.0"), { ...target, prefix: "-p" }, layout)).toThrow(/refusing/);
    expect(() => buildCreateArgs(pm("conda", "25.1.0"), { ...target, envFile: "/tmp/a\nb" }, layout)).toThrow(/refusing/);
    expect(() => buildCreateArgs(pm("conda", "26.7.1"), { ...target, channels: ["--offline"] }, layout)).toThrow(/refusing/);
  });
});

describe("child environment of the package manager", () => {
  const worker = {
    PATH: "/usr/bin",
    HOME: "/home/w",
    LANG: "C.UTF-8",
    HYPHA_TOKEN: "secret-token-value",
    HYPHA_SERVER_URL: "http://x",
    AWS_SECRET_ACCESS_KEY: "aws",
    GITHUB_TOKEN: "gh",
    DB_PASSWORD: "pw",
    MY_API_KEY: "k",
    SSH_AUTH_SOCK: "/tmp/ssh",
    PYTHONPATH: "/worker/lib",
    PIP_INDEX_URL: "https://user:pw@pypi.example/simple",
    PIP_NO_INDEX: "1",
    HTTPS_PROXY: "http://proxy:3128",
    https_proxy: "http://proxy:3128",
    NO_PROXY: "localhost",
    SSL_CERT_FILE: "/etc/ssl/ca.pem",
    REQUESTS_CA_BUNDLE: "/etc/ssl/ca.pem",
    CONDA_CHANNEL_PRIORITY: "strict",
    CONDA_PKGS_DIRS: "/elsewhere/pkgs",
    MAMBA_SSL_VERIFY: "true",
  };

  it("drops HYPHA_* and credential-looking names, keeps the passthrough list", () => {
    const env = filterToolEnv(worker);
    for (const dropped of ["HYPHA_TOKEN", "HYPHA_SERVER_URL", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "DB_PASSWORD", "MY_API_KEY", "SSH_AUTH_SOCK", "PYTHONPATH"]) {
      expect(env, dropped).not.toHaveProperty(dropped);
    }
    for (const kept of ["PATH", "HOME", "LANG", "PIP_INDEX_URL", "PIP_NO_INDEX", "HTTPS_PROXY", "https_proxy", "NO_PROXY", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CONDA_CHANNEL_PRIORITY", "MAMBA_SSL_VERIFY"]) {
      expect(env[kept], kept).toBe(worker[kept as keyof typeof worker]);
    }
  });

  it.each([pm("conda", "25.11.1"), pm("conda", "26.7.1"), pm("mamba", "1.5.12")])("$name $version: owns the package cache and register_envs, keeps the operator's HOME", (info) => {
    const env = buildToolEnv(info, worker, layout);
    expect(env).toMatchObject({ CONDA_PKGS_DIRS: "/cache/pkgs", CONDA_REGISTER_ENVS: "false", HOME: "/home/w", PIP_INDEX_URL: worker.PIP_INDEX_URL });
    expect(env).not.toHaveProperty("MAMBA_ROOT_PREFIX");
  });
  it.each([pm("micromamba", "1.5.12"), pm("micromamba", "2.8.1"), pm("mamba", "2.8.1")])("$name $version: owns the package cache, root prefix and register_envs, keeps HOME", (info) => {
    const env = buildToolEnv(info, worker, layout);
    expect(env).toMatchObject({ MAMBA_PKGS_DIRS: "/cache/pkgs", CONDA_PKGS_DIRS: "/cache/pkgs", MAMBA_ROOT_PREFIX: "/cache/mamba-root", MAMBA_REGISTER_ENVS: "false", HOME: "/home/w" });
  });
});
