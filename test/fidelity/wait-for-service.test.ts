// startup_config.wait_for_service as hypha/apps.py reads it: true/None → "default", "client:svc" → "svc",
// false → detached, "" → only the client connection. The worker's own wait must name the same service
// the server waits for (the app-manager stand-in mirrors apps.py).
import { describe, expect, it } from "vitest";
import { validateStartConfig } from "../../src/worker/start-config.js";
import { serviceToWaitFor } from "../support/app-manager/sessions.js";

function startConfig(waitForService: unknown): Record<string, unknown> {
  const startup = waitForService === undefined ? {} : { wait_for_service: waitForService };
  return {
    id: "ws-user-a/_rapp_x__rlb",
    app_id: "app",
    workspace: "ws-user-a",
    client_id: "_rapp_x__rlb",
    server_url: "http://127.0.0.1:9527",
    manifest: { type: "conda-python", startup_config: startup, _rtype: "pydantic-model" },
  };
}

describe("wait_for_service", () => {
  it.each([
    [undefined, "default", "default"],
    [null, "default", "default"],
    [true, "default", "default"],
    ["svc", "svc", "svc"],
    ["_rapp_x__rlb:svc", "svc", "svc"],
    ["other-client:worker-api", "worker-api", "worker-api"],
    [false, false, false],
  ])("%j → worker waits for %j, server for %j", (value, worker, server) => {
    expect(validateStartConfig(startConfig(value), 30).waitForService).toBe(worker);
    const manifest = startConfig(value).manifest as Record<string, unknown>;
    expect(serviceToWaitFor(undefined, manifest)).toBe(server);
  });

  it("treats \"\" as a start that does not wait for any service (the server waits for the client)", () => {
    expect(validateStartConfig(startConfig(""), 30).waitForService).toBe(false);
  });

  it("still refuses a value that is not a service id", () => {
    expect(() => validateStartConfig(startConfig("a b"), 30)).toThrow(/wait_for_service/);
    expect(() => validateStartConfig(startConfig(3), 30)).toThrow(/wait_for_service/);
  });
});
