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
  test("upstream's conda-jupyter-kernel type is its own type; unknown and prototype names are refused", () => {
    expect(normalizeManifest({ type: "conda-jupyter-kernel", dependencies: ["python=3.11"] }).type).toBe("conda-jupyter-kernel");
    for (const bad of ["jupyter-kernel", "constructor", "__proto__", "", 3]) {
      expect(() => normalizeManifest({ type: bad, dependencies: ["python"] }), String(bad)).toThrow(/set type: conda-python or python-conda or conda-jupyter-kernel/);
    }
  });
  test("entry point may not be a folder", () => {
    expect(() => normalizeManifest({ type: "conda-python", entry_point: "src/" })).toThrow(/names a folder/);
  });
});

describe("resolveEnvSpec", () => {
  test("upstream's template dependencies, with the kernel packages its compile adds, are ordinary dependencies", async () => {
    const manifest = normalizeManifest({
      type: "conda-jupyter-kernel",
      dependencies: ["python=3.11", "numpy", "pip", "ipykernel", "jupyter_client", "pyzmq", { pip: ["hypha-rpc"] }],
      channels: ["conda-forge"],
    });
    const spec = await resolveEnvSpec(manifest, reader({}).read, OPTIONS);
    expect(spec.conda).toEqual(["ipykernel", "jupyter_client", "numpy", "pip", "python 3.11.*", "pyzmq"]);
    expect(spec.pip).toEqual(["hypha-rpc"]);
  });
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
