import { describe, expect, it } from "vitest";
import { validateStartConfig } from "../../src/worker/start-config.js";
import { redact } from "../../src/redact.js";

function config(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: "ws-user-a/_rapp_x", app_id: "app", workspace: "ws-user-a", client_id: "_rapp_x", server_url: "http://127.0.0.1:9527",
    app_files_base_url: "http://127.0.0.1:9527/ws-user-a/artifacts/app/files", token: "secret-app-token-123", timeout: 2.5,
    manifest: { type: "conda-python", entry_point: "main.py", startup_config: { timeout: 30 }, _rtype: "pydantic-model" },
    progress_callback: () => undefined, _rtype: "dict", ...overrides,
  };
}

describe("validateStartConfig", () => {
  it("strips _rtype, separates the progress callback, keeps timeout seconds and registers the token", () => {
    const v = validateStartConfig(config(), 60);
    expect(v.config.manifest).not.toHaveProperty("_rtype");
    expect(v.config).not.toHaveProperty("_rtype");
    expect(v.config).not.toHaveProperty("progress_callback");
    expect(typeof v.progressCallback).toBe("function");
    expect(v.config.timeout).toBe(2.5);
    expect(v.waitForService).toBe("default");
    expect(redact("token=secret-app-token-123")).toBe("token=***");
  });

  it("reads wait_for_service (false = detached) and defaults timeout", () => {
    const v = validateStartConfig(config({ timeout: undefined, manifest: { type: "conda-python", startup_config: { wait_for_service: false } } }), 42);
    expect(v.waitForService).toBe(false);
    expect(v.config.timeout).toBe(42);
    expect(validateStartConfig(config({ manifest: { startup_config: { wait_for_service: "svc" } } }), 1).waitForService).toBe("svc");
  });

  it.each([
    [{ id: undefined }, /'id' is required/],
    [{ workspace: 7 }, /'workspace' is required/],
    [{ id: "other-ws/_rapp_x" }, /'id' must be '<workspace>\/<client_id>'/],
    [{ timeout: -1 }, /'timeout' must be a positive number of seconds/],
    [{ timeout: "30" }, /'timeout' must be a positive number/],
    [{ server_url: "not a url" }, /'server_url' is not a valid URL/],
    [{ server_url: "file:///etc" }, /'server_url' must use/],
    [{ manifest: "x" }, /'manifest' is required/],
    [{ manifest: { type: "web-python" } }, /not supported by this worker/],
    [{ progress_callback: "call me" }, /'progress_callback' must be a function/],
  ])("refuses %j", (overrides, message) => {
    expect(() => validateStartConfig(config(overrides), 60)).toThrow(message);
  });

  it("refuses a non-object config", () => {
    expect(() => validateStartConfig(undefined, 60)).toThrow(/config must be an object/);
  });
});
