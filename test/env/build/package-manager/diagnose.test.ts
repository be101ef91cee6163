import { describe, expect, it } from "vitest";
import { diagnoseFailure, lastJsonObject } from "../../../../src/env/build/package-manager/diagnose.js";

const run = (stdout: string, stderr: string[] = [], exitCode = 1) => ({ stdout, stderrTail: stderr, exitCode });

describe("diagnoseFailure", () => {
  it("conda PackagesNotFoundError --json", () => {
    const d = diagnoseFailure(run(JSON.stringify({ exception_name: "PackagesNotFoundError", packages: ["nosuchpkg"], channel_urls: ["file:///c"], message: "The following packages are not available from current channels:\n\n  - nosuchpkg\n" })));
    expect(d).toMatchObject({ kind: "packages-not-found", packages: ["nosuchpkg"], exceptionName: "PackagesNotFoundError" });
    expect(d.summary).toContain("nosuchpkg");
  });

  it("conda UnsatisfiableError --json", () => {
    const d = diagnoseFailure(run(JSON.stringify({ exception_name: "UnsatisfiableError", unsatisfiable: [["tinyapp", "tinylib<2"]], message: "conflict: tinyapp requires tinylib >=2" })));
    expect(d.kind).toBe("unsatisfiable");
    expect(d.summary).toContain("tinylib >=2");
    expect(d.problems).toHaveLength(1);
  });

  it("conda Pip failed keeps pip's stderr", () => {
    const d = diagnoseFailure(run(`{"exception_name": "CondaEnvException", "message": "Pip failed"}`, ["ERROR: Could not find a version that satisfies the requirement nosuchwheel", "ERROR: No matching distribution found for nosuchwheel"]));
    expect(d.kind).toBe("pip-failed");
    expect(d.summary).toContain("No matching distribution found for nosuchwheel");
  });

  it("libmamba pip failure text", () => {
    const d = diagnoseFailure(run("", ["ERROR: No matching distribution found for nosuchwheel", "critical libmamba pip failed to install packages"]));
    expect(d.kind).toBe("pip-failed");
    expect(d.summary).toContain("nosuchwheel");
  });

  it("libmamba solver_problems", () => {
    const problems = ["package tinyapp-1.0-py_0 requires tinylib >=2, but none of the providers can be installed"];
    const d = diagnoseFailure(run(JSON.stringify({ solver_problems: problems, success: false })));
    expect(d).toMatchObject({ kind: "unsatisfiable", problems });
    const missing = diagnoseFailure(run(JSON.stringify({ solver_problems: ["nothing provides requested nosuchpkg"], success: false })));
    expect(missing).toMatchObject({ kind: "packages-not-found", packages: ["nosuchpkg"] });
  });

  it("conda CondaMultiError names its inner errors (shape measured on 26.7.1 under the cold-cache race)", () => {
    const pkg = "/srv/cache/pkgs/pip-26.2.1-py_0";
    const safety = { exception_name: "SafetyError", message: `The package for pip located at ${pkg}\nappears to be corrupted. The path 'site-packages/pip/_internal/req/req_install.py'\nhas an incorrect size.\n  reported size: 32173 bytes\n  actual size: 16384 bytes\n` };
    const verification = { exception_name: "CondaVerificationError", message: `The package for pip located at ${pkg}\nappears to be corrupted. The path 'site-packages/pip/_vendor/distlib/w64-arm.exe'\nspecified in the package manifest cannot be found.\n` };
    const doc = { error: "Multiple Errors Encountered.", errors: [safety, safety, verification, verification, verification], exception_name: "CondaMultiError", exception_type: "<class 'conda.CondaMultiError'>" };
    const d = diagnoseFailure(run(JSON.stringify(doc, null, 2)));
    expect(d).toMatchObject({ kind: "failed", exceptionName: "CondaMultiError" });
    expect(d.summary).toContain("5 errors:");
    expect(d.summary).toContain(`SafetyError (×2): The package for pip located at ${pkg} appears to be corrupted.`);
    expect(d.summary).toContain("CondaVerificationError (×3): The package for pip");
    expect(d.summary).not.toContain("Multiple Errors Encountered");
  });

  it("falls back to the last stderr lines", () => {
    expect(diagnoseFailure(run("", ["boom happened"])).summary).toBe("boom happened");
    expect(diagnoseFailure(run("", [], 3)).summary).toBe("exit code 3");
  });

  it("finds the JSON document after text", () => {
    expect(lastJsonObject('warning: x\n{"a": 1}\n')).toEqual({ a: 1 });
    expect(lastJsonObject("no json")).toBeUndefined();
  });
});

describe("diagnoseFailure on text output (mamba 1.x drives conda without --json)", () => {
  it("reads conda's PackagesNotFoundError text without taking channel lines for packages", () => {
    const text = "\nPackagesNotFoundError: The following packages are not available from current channels:\n\n  - nosuchpkg\n  - other\n\nCurrent channels:\n\n  - file:///c/linux-64\n  - file:///c/noarch\n";
    const d = diagnoseFailure(run("", text.split("\n")));
    expect(d).toMatchObject({ kind: "packages-not-found", packages: ["nosuchpkg", "other"] });
    expect(d.summary).toContain("nosuchpkg");
  });
  it("reads conda's UnsatisfiableError text", () => {
    const text = "UnsatisfiableError: The following specifications were found to be incompatible with each other:\n\nPackage tinylib conflicts for:\ntinyapp -> tinylib[version='>=2']\ntinylib[version='<2']\n\n\n";
    const d = diagnoseFailure(run("", text.split("\n")));
    expect(d.kind).toBe("unsatisfiable");
    expect(d.summary).toContain("tinyapp -> tinylib[version='>=2']");
  });
});
