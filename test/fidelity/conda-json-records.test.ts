// conda --json writes `{"fetch": ..., "finished": ...}\n\0` progress records to stdout while it downloads
// (conda/common/io.py ProgressBar, conda/plugins/reporter_backends/json.py), then one result document.
// A failure after the download (pip, a corrupted package) must still be read from that last document.
import { describe, expect, it } from "vitest";
import { diagnoseFailure, lastJsonObject } from "../../src/env/build/package-manager/diagnose.js";

const records = ["pip-23.0.1", "python-3.11.7"]
  .flatMap((d) => [`{"fetch":"${d}","finished":false,"maxval":1,"progress":0.500000}\n\0`, `{"fetch":"${d}","finished":true,"maxval":1,"progress":1}\n\0`])
  .join("");
const verification = {
  caused_by: "None",
  error: "CondaVerificationError: The package for pip located at /c/pkgs/pip-23.0.1-py_0 appears to be corrupted.",
  exception_name: "CondaVerificationError",
  exception_type: "<class 'conda.exceptions.CondaVerificationError'>",
  message: "The package for pip located at /c/pkgs/pip-23.0.1-py_0 appears to be corrupted.",
};

describe("conda --json output with fetch records", () => {
  it("finds the result document after the NUL-terminated records", () => {
    expect(lastJsonObject(`${records}${JSON.stringify(verification, null, 2)}\n`)).toEqual(verification);
    expect(lastJsonObject(`${records}${JSON.stringify({ success: true, prefix: "/p", actions: {} }, null, 2)}\n`)).toMatchObject({ success: true });
  });

  it("diagnoses a post-download failure in conda's own words", () => {
    const d = diagnoseFailure({ stdout: `${records}${JSON.stringify(verification, null, 2)}\n`, stderrTail: [], exitCode: 1 });
    expect(d).toMatchObject({ kind: "failed", exceptionName: "CondaVerificationError" });
    expect(d.summary).toMatch(/appears to be corrupted/);
  });

  it("reads a pip failure from the document and pip's text from stderr", () => {
    const d = diagnoseFailure({ stdout: `${records}${JSON.stringify({ exception_name: "CondaEnvException", message: "Pip failed" }, null, 2)}\n`, stderrTail: ["ERROR: No matching distribution found for nosuchwheel"], exitCode: 1 });
    expect(d).toMatchObject({ kind: "pip-failed", exceptionName: "CondaEnvException" });
    expect(d.summary).toContain("nosuchwheel");
  });

  it("still handles output without records, and records alone", () => {
    expect(lastJsonObject('{"solver_problems": ["nothing provides requested x"], "success": false}\n')).toMatchObject({ success: false });
    // Records without a final document: conda died mid-way; a progress record is not a result.
    expect(lastJsonObject(records)).toBeUndefined();
  });
});
