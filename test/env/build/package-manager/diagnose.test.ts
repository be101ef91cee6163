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
