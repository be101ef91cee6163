import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { canonicalSpecJson, envDirName, hashEnvSpec, toEnvironmentYaml } from "../../../src/env/spec/hash.js";
import { buildEnvSpec, currentSubdir, specFromEnvironmentFile, type SpecOptions } from "../../../src/env/spec/spec.js";
import type { EnvSpec } from "../../../src/env/types.js";

const OPTIONS: SpecOptions = { channelMap: {}, defaultChannels: ["conda-forge"], allowPipOptions: false, subdir: "linux-64" };

describe("hash", () => {
  const spec: EnvSpec = { schema: 1, channels: ["b", "a"], conda: ["zlib", "numpy >=1.20"], pip: ["rich", "attrs"], variables: { Z: "1", A: "2" }, subdir: "linux-64" };
  test("canonical JSON sorts keys, conda, pip; keeps channel order", () => {
    expect(canonicalSpecJson(spec)).toBe(
      '{"channels":["b","a"],"conda":["numpy >=1.20","zlib"],"pip":["attrs","rich"],"schema":1,"subdir":"linux-64","variables":{"A":"2","Z":"1"}}',
    );
    expect(hashEnvSpec(spec)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashEnvSpec({ ...spec, schema: 2 })).not.toBe(hashEnvSpec(spec));
  });
  test("env dir name uses the first non-python package", () => {
    const h = hashEnvSpec(spec);
    expect(envDirName(spec, h)).toBe(`numpy-${h.slice(0, 16)}`);
    expect(envDirName({ ...spec, conda: ["python 3.11.*", "conda-forge::Scikit_Learn.Extra+Very-Long-Name"] }, h)).toBe(`scikit-learn-extra-very-${h.slice(0, 16)}`);
    expect(envDirName({ ...spec, conda: ["python"] }, h)).toBe(`env-${h.slice(0, 16)}`);
    expect(() => envDirName(spec, "../../etc")).toThrow(/64 lower-case hex/);
  });
  test("environment YAML round-trips to the same spec", () => {
    const built = buildEnvSpec({ dependencies: ["python=3.11", "numpy >=1.20,<2", "conda-forge::scipy 1.11 py311*", { pip: ["requests>=2; python_version > '3.8'"] }], channels: ["conda-forge", "bioconda"], variables: { MY_FLAG: "a: b #c" } }, OPTIONS);
    const yaml = toEnvironmentYaml(built);
    const doc = parse(yaml) as Record<string, unknown>;
    expect(doc.channels).toEqual(["conda-forge", "bioconda"]);
    expect(doc.variables).toEqual({ MY_FLAG: "a: b #c" });
    expect(specFromEnvironmentFile(yaml, OPTIONS)).toEqual(built);
  });
  test("no pip item or variables when empty", () => {
    const doc = parse(toEnvironmentYaml(buildEnvSpec({ dependencies: ["numpy"] }, OPTIONS))) as Record<string, unknown>;
    expect(doc).toEqual({ channels: ["conda-forge"], dependencies: ["numpy"] });
  });
  test("current subdir", () => {
    expect(currentSubdir("linux", "x64")).toBe("linux-64");
    expect(currentSubdir("linux", "arm64")).toBe("linux-aarch64");
    expect(currentSubdir("darwin", "arm64")).toBe("osx-arm64");
    expect(currentSubdir("darwin", "x64")).toBe("osx-64");
    expect(currentSubdir("win32", "x64")).toBe("win-64");
  });
});
