import { describe, expect, it } from "vitest";
import { createError, scrubToolText } from "../../../src/env/build/create-error.js";
import { registerSecret } from "../../../src/redact.js";

const job = { hash: "c".repeat(64), prefix: "/cache/envs/x-cccccccccccccccc", pm: { name: "conda" as const, version: "25.11.1", path: "/c" }, lock: { lost: new AbortController().signal }, createTimeoutMs: 90_000 };

describe("createError", () => {
  it("never carries tokens or URL credentials from the tool's output", () => {
    registerSecret("registered-secret-123456");
    const stdout = JSON.stringify({ exception_name: "PackagesNotFoundError", packages: ["nosuch"], message: "not in https://user:pw@mirror/t/abcdefgh123/chan registered-secret-123456" });
    const error = createError(job, { exitCode: 1, stdout, stderrTail: ["token registered-secret-123456", "https://u:p@host/x"] });
    const text = JSON.stringify({ message: error.message, details: error.details });
    expect(error.code).toBe("E_ENV_CREATE");
    for (const leaked of ["registered-secret-123456", "user:pw@", "u:p@", "abcdefgh123"]) expect(text).not.toContain(leaked);
    expect(error.message).toContain("nosuch");
  });

  it("maps timeout, cancel and spawn failures to their codes", () => {
    expect(createError(job, { timedOut: true }).code).toBe("E_ENV_TIMEOUT");
    expect(createError(job, { timedOut: true }).message).toContain("90 s");
    expect(createError(job, { aborted: true }).details).toMatchObject({ cancelled: true });
    const lost = new AbortController();
    lost.abort();
    expect(createError({ ...job, lock: { lost: lost.signal } }, { aborted: true }).code).toBe("E_LOCK");
    expect(createError(job, { spawnError: "ENOENT" }).code).toBe("E_PACKAGE_MANAGER");
  });

  it("scrubs conda token paths and credentials", () => {
    expect(scrubToolText("https://conda.anaconda.org/t/tk-1234567/main and ftp://a:b@h/")).toBe("https://conda.anaconda.org/t/***/main and ftp://***@h/");
  });
});
