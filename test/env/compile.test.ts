import { describe, expect, test } from "vitest";
import { compileApp } from "../../src/env/compile.js";
import { hasCode } from "../../src/errors.js";
import type { SpecOptions } from "../../src/env/spec/spec.js";

const OPTIONS: SpecOptions = { channelMap: {}, defaultChannels: ["conda-forge"], allowPipOptions: false, subdir: "linux-64" };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return hasCode(error, "E_MANIFEST") ? "E_MANIFEST" : hasCode(error, "E_CHANNEL_NOT_ALLOWED") ? "E_CHANNEL_NOT_ALLOWED" : "other";
  }
  return undefined;
}

describe("compileApp", () => {
  test("strips _rtype and adds nothing", () => {
    const manifest = { type: "conda-python", name: "x", dependencies: ["numpy>=1.20"], _rtype: "pydantic-model", startup_config: { _rtype: "m", timeout: 5 } };
    const files = [{ path: "main.py", content: "print(1)", format: "text", _rtype: "f" }];
    const [m, f] = compileApp(manifest, files, OPTIONS);
    expect(m).toEqual({ type: "conda-python", name: "x", dependencies: ["numpy>=1.20"], startup_config: { timeout: 5 } });
    expect(f).toEqual([{ path: "main.py", content: "print(1)", format: "text" }]);
    expect(manifest._rtype).toBe("pydantic-model");
  });
  test("a conda-jupyter-kernel manifest gets none of the packages upstream's compile adds (ipykernel, pyzmq, ...)", () => {
    const manifest = { type: "conda-jupyter-kernel", entry_point: "main.py", dependencies: ["python=3.11", "numpy"], channels: ["conda-forge"] };
    const [m] = compileApp(manifest, [], OPTIONS);
    expect(m).toEqual(manifest);
  });
  test("a bad manifest fails at install time", () => {
    expect(codeOf(() => compileApp({ type: "conda-python", dependencies: ["numpy; id"] }, [], OPTIONS))).toBe("E_MANIFEST");
    expect(codeOf(() => compileApp({ type: "conda-python", entry_point: "../x.py", dependencies: ["numpy"] }, [], OPTIONS))).toBe("E_MANIFEST");
    expect(codeOf(() => compileApp({ type: "conda-python", dependencies: ["numpy"] }, "nope", OPTIONS))).toBe("E_MANIFEST");
    expect(codeOf(() => compileApp({ type: "conda-python", dependencies: ["numpy"], channels: ["bioconda"] }, [], { ...OPTIONS, allowedChannels: ["conda-forge"] }))).toBe("E_CHANNEL_NOT_ALLOWED");
  });
  test("an environment.yml among the files is validated (text and base64)", () => {
    const good = "dependencies: [python=3.11, {pip: [requests]}]\n";
    expect(() => compileApp({ type: "conda-python", dependencies: [] }, [{ path: "environment.yml", content: good }], OPTIONS)).not.toThrow();
    expect(() => compileApp({ type: "conda-python" }, [{ name: "environment.yaml", content: Buffer.from(good).toString("base64"), format: "base64" }], OPTIONS)).not.toThrow();
    const bad = "dependencies: [\"--yes\"]\n";
    expect(codeOf(() => compileApp({ type: "conda-python" }, [{ path: "environment.yml", content: bad }], OPTIONS))).toBe("E_MANIFEST");
    expect(codeOf(() => compileApp({ type: "conda-python" }, [{ path: "environment.yaml", content: Buffer.from(bad).toString("base64"), format: "base64" }], OPTIONS))).toBe("E_MANIFEST");
  });
  test("the environment file is ignored when the manifest has dependencies", () => {
    const bad = "dependencies: [\"--yes\"]\n";
    expect(() => compileApp({ type: "conda-python", dependencies: ["numpy"] }, [{ path: "environment.yml", content: bad }], OPTIONS)).not.toThrow();
  });
  test("no environment file at install time is accepted (it may be uploaded later)", () => {
    expect(() => compileApp({ type: "conda-python", dependencies: [] }, [], OPTIONS)).not.toThrow();
  });
});
