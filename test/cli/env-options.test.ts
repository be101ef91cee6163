import { parseArgs } from "node:util";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { ENV_OPTION_SPECS, ENV_OPTIONS_HELP, ENV_OPTION_VARIABLES, resolveEnvOptions } from "../../src/cli/env-options.js";
import { ConfigError } from "../../src/errors.js";

function parse(argv: string[]): Record<string, unknown> {
  return parseArgs({ args: argv, options: ENV_OPTION_SPECS, strict: true }).values as Record<string, unknown>;
}

const HOME_ENV = { HOME: "/home/tester" };

describe("resolveEnvOptions", () => {
  test("defaults", () => {
    const o = resolveEnvOptions({}, HOME_ENV);
    expect(o).toEqual({
      cacheDir: "/home/tester/.cache/hypha-conda-worker",
      bootstrap: true,
      channelMap: {},
      defaultChannels: ["conda-forge"],
      allowPipOptions: false,
      createTimeoutMs: 1_800_000,
    });
    expect(resolveEnvOptions({}, { ...HOME_ENV, XDG_CACHE_HOME: "/xdg" }).cacheDir).toBe("/xdg/hypha-conda-worker");
  });
  test("environment variables", () => {
    const o = resolveEnvOptions({}, {
      ...HOME_ENV,
      HYPHA_CONDA_CACHE_DIR: "/srv/cache",
      HYPHA_CONDA_PACKAGE_MANAGER: "micromamba",
      HYPHA_CONDA_NO_BOOTSTRAP: "1",
      HYPHA_CONDA_CHANNEL_MAP: "conda-forge=https://m.example/cf/, fixtures=file:///srv/ch",
      HYPHA_CONDA_ALLOWED_CHANNELS: "conda-forge, fixtures",
      HYPHA_CONDA_ALLOW_PIP_OPTIONS: "true",
      HYPHA_CONDA_ENV_TIMEOUT: "90.5",
      HYPHA_CONDA_CACHE_MAX_ENVS: "20",
      HYPHA_CONDA_CACHE_MAX_SIZE: "10G",
      HYPHA_CONDA_CACHE_MAX_AGE: "7d",
      HYPHA_CONDA_MICROMAMBA_URL: "http://127.0.0.1:8080/mm/",
    });
    expect(o).toEqual({
      cacheDir: "/srv/cache",
      packageManager: "micromamba",
      bootstrap: false,
      channelMap: { "conda-forge": "https://m.example/cf", fixtures: "file:///srv/ch" },
      allowedChannels: ["conda-forge", "fixtures"],
      defaultChannels: ["conda-forge"],
      allowPipOptions: true,
      createTimeoutMs: 90_500,
      cacheMaxEnvs: 20,
      cacheMaxSizeBytes: 10 * 1024 ** 3,
      cacheMaxAgeMs: 7 * 86_400_000,
      micromambaUrl: "http://127.0.0.1:8080/mm",
    });
  });
  test("flags win over environment variables", () => {
    const env = { ...HOME_ENV, HYPHA_CONDA_CACHE_DIR: "/env/cache", HYPHA_CONDA_CHANNEL_MAP: "a=https://env.example/a", HYPHA_CONDA_ENV_TIMEOUT: "5", HYPHA_CONDA_CACHE_MAX_SIZE: "1G" };
    const o = resolveEnvOptions(parse(["--cache-dir", "rel/cache", "--channel-map", "b=https://flag.example/b", "--channel-map", "c=file:///c", "--env-timeout", "60", "--cache-max-size", "500MB", "--no-bootstrap", "--package-manager", "/opt/conda/bin/conda"]), env);
    expect(o.cacheDir).toBe(path.resolve("rel/cache"));
    expect(o.channelMap).toEqual({ b: "https://flag.example/b", c: "file:///c" });
    expect(o.createTimeoutMs).toBe(60_000);
    expect(o.cacheMaxSizeBytes).toBe(500 * 1024 ** 2);
    expect(o.bootstrap).toBe(false);
    expect(o.packageManager).toBe("/opt/conda/bin/conda");
  });
  test.each([
    ["env-timeout", ["--env-timeout", "soon"], {}],
    ["env-timeout", [], { HYPHA_CONDA_ENV_TIMEOUT: "-3" }],
    ["cache-max-envs", ["--cache-max-envs", "2.5"], {}],
    ["cache-max-size", [], { HYPHA_CONDA_CACHE_MAX_SIZE: "10 parsecs" }],
    ["cache-max-age", ["--cache-max-age", "forever"], {}],
    ["package-manager", ["--package-manager", "pip"], {}],
    ["package-manager", [], { HYPHA_CONDA_PACKAGE_MANAGER: "bin/conda" }],
    ["channel-map", ["--channel-map", "conda-forge"], {}],
    ["channel-map", [], { HYPHA_CONDA_CHANNEL_MAP: "x=ftp://m.example" }],
    ["channel-map", ["--channel-map", "x=https://u:p@m.example"], {}],
    ["allowed-channels", ["--allowed-channels", "a b"], {}],
    ["allow-pip-options", [], { HYPHA_CONDA_ALLOW_PIP_OPTIONS: "perhaps" }],
    ["no-bootstrap", [], { HYPHA_CONDA_NO_BOOTSTRAP: "2" }],
    ["micromamba-url", ["--micromamba-url", "file:///x"], {}],
  ] as Array<[string, string[], Record<string, string>]>)("invalid --%s names the flag and the variable", (flag, argv, env) => {
    let caught: unknown;
    try {
      resolveEnvOptions(parse(argv), { ...HOME_ENV, ...env });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as Error).message).toContain(`--${flag}`);
    expect((caught as Error).message).toContain(ENV_OPTION_VARIABLES[flag]!);
    expect((caught as Error).message).not.toContain("u:p@");
  });
  test("help lists every flag", () => {
    for (const flag of Object.keys(ENV_OPTION_SPECS)) expect(ENV_OPTIONS_HELP).toContain(`--${flag}`);
  });
});
