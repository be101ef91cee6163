import { describe, expect, test } from "vitest";
import { normalizeManifest, normalizeRelativePath, resolveEnvSpec } from "../../../src/env/spec/manifest.js";
import { hasCode } from "../../../src/errors.js";
import type { SpecOptions } from "../../../src/env/spec/spec.js";

const OPTIONS: SpecOptions = { channelMap: {}, defaultChannels: ["conda-forge"], allowPipOptions: false, subdir: "linux-64" };

function reader(files: Record<string, string>) {
  const reads: string[] = [];
  const read = async (rel: string) => {
    reads.push(rel);
    return files[rel];
  };
  return { read, reads };
}

describe("normalizeManifest", () => {
  test("defaults, alias and _rtype stripping", () => {
    const m = normalizeManifest({ type: "python-conda", dependencies: ["numpy"], _rtype: "pydantic-model", startup_config: { timeout: 3, _rtype: "x" } });
    expect(m.type).toBe("conda-python");
    expect(m.entryPoint).toBe("main.py");
    expect(m.filesToStage).toEqual([]);
    expect(m.envSource).toBe("manifest");
    expect(m.manifest).toEqual({ type: "python-conda", dependencies: ["numpy"], startup_config: { timeout: 3 } });
  });
  test("entry point and files_to_stage are normalised", () => {
    const m = normalizeManifest({ type: "conda-python", entry_point: "./src//app.py", files_to_stage: ["data/", "a.txt:b/c.txt", "./models/:weights/", "x"] });
    expect(m.entryPoint).toBe("src/app.py");
    expect(m.filesToStage).toEqual(["data/", "a.txt:b/c.txt", "models/:weights/", "x"]);
  });
  test("Hypha's default dependencies: [] means the environment file is used", () => {
    expect(normalizeManifest({ type: "conda-python", dependencies: [] }).envSource).toBe("environment-file");
    expect(normalizeManifest({ type: "conda-python" }).envSource).toBe("environment-file");
    expect(normalizeManifest({ type: "conda-python", dependencies: "python" }).envSource).toBe("manifest");
  });
  test("relative path rules", () => {
    expect(normalizeRelativePath("a/./b/", "p")).toBe("a/b/");
    for (const bad of ["/abs", "C:/x", "a/../../b", "a\\b", "~/x", ".", "-rf"]) {
      expect(() => normalizeRelativePath(bad, "p"), bad).toThrow(/p /);
    }
  });
  test("entry point may not be a folder", () => {
    expect(() => normalizeManifest({ type: "conda-python", entry_point: "src/" })).toThrow(/names a folder/);
  });
});

describe("resolveEnvSpec", () => {
  test("manifest dependencies are used without reading files other than the app's lock", async () => {
    const { read, reads } = reader({ "environment.yml": "dependencies: [scipy]\n" });
    const spec = await resolveEnvSpec(normalizeManifest({ type: "conda-python", dependencies: ["numpy"], channels: "bioconda" }), read, OPTIONS);
    expect(spec.conda).toEqual(["numpy"]);
    expect(spec.channels).toEqual(["bioconda"]);
    expect(reads).toEqual(["hypha-conda.lock.json"]);
  });
  test("environment.yml first, then environment.yaml", async () => {
    const both = reader({ "environment.yml": "dependencies: [scipy]\n", "environment.yaml": "dependencies: [pandas]\n" });
    expect((await resolveEnvSpec(normalizeManifest({ type: "conda-python" }), both.read, OPTIONS)).conda).toEqual(["scipy"]);
    const yamlOnly = reader({ "environment.yaml": "dependencies: [pandas]\nvariables: {MY_VAR: 1}\n" });
    const spec = await resolveEnvSpec(normalizeManifest({ type: "conda-python", dependencies: [] }), yamlOnly.read, OPTIONS);
    expect(spec.conda).toEqual(["pandas"]);
    expect(spec.variables).toEqual({ MY_VAR: "1" });
    expect(yamlOnly.reads).toEqual(["environment.yml", "environment.yaml", "hypha-conda.lock.json"]);
  });
  test("file channels win, else the manifest's, else the defaults", async () => {
    const withChannels = reader({ "environment.yml": "channels: [pytorch]\ndependencies: [numpy]\n" });
    const m = normalizeManifest({ type: "conda-python", channels: ["bioconda"] });
    expect((await resolveEnvSpec(m, withChannels.read, OPTIONS)).channels).toEqual(["pytorch"]);
    const without = reader({ "environment.yml": "dependencies: [numpy]\n" });
    expect((await resolveEnvSpec(m, without.read, OPTIONS)).channels).toEqual(["bioconda"]);
    expect((await resolveEnvSpec(normalizeManifest({ type: "conda-python" }), without.read, OPTIONS)).channels).toEqual(["conda-forge"]);
  });
  test("no dependencies and no environment file is a clear error", async () => {
    const { read } = reader({});
    const error = await resolveEnvSpec(normalizeManifest({ type: "conda-python" }), read, OPTIONS).catch((e: unknown) => e);
    expect(hasCode(error, "E_MANIFEST")).toBe(true);
    expect((error as Error).message).toMatch(/environment\.yml/);
  });
});
