import { describe, expect, it } from "vitest";
import { buildSessionInfo, canTransition, notifyStatusListeners } from "../../src/session/status.js";
import type { SessionInfo, StartConfig } from "../../src/session/types.js";

const config: StartConfig = { id: "ws/c1", app_id: "app", workspace: "ws", client_id: "c1", server_url: "http://127.0.0.1:1", manifest: {} };

describe("session status", () => {
  it.each([
    ["starting", "running", true],
    ["starting", "completed", false],
    ["running", "completed", true],
    ["running", "running", false],
    ["stopping", "failed", false],
    ["failed", "stopped", true],
    ["stopped", "starting", false],
  ] as const)("%s → %s allowed: %s", (from, to, allowed) => {
    expect(canTransition(from, to)).toBe(allowed);
  });

  it("keeps notifying the other listeners when one throws", () => {
    const seen: string[] = [];
    const errors: unknown[] = [];
    const info = { status: "running" } as SessionInfo;
    notifyStatusListeners([() => seen.push("a"), () => { throw new Error("bad listener"); }, () => seen.push("c")], "running", info, (e) => errors.push(e));
    expect(seen).toEqual(["a", "c"]);
    expect(errors).toHaveLength(1);
  });

  it("builds the worker API's session info with env and exit facts in metadata", () => {
    const info = buildSessionInfo({
      config, status: "failed", entryPoint: "main.py", createdAt: "2026-01-01T00:00:00.000Z",
      env: { hash: "h", prefix: "/p", pythonPath: "/p/bin/python", activation: {}, status: "cached", seconds: 0 },
      exit: { code: 1, signal: null }, services: ["default"], error: "boom",
    });
    expect(info).toEqual({
      session_id: "ws/c1", app_id: "app", workspace: "ws", client_id: "c1", status: "failed", app_type: "conda-python",
      entry_point: "main.py", created_at: "2026-01-01T00:00:00.000Z", error: "boom",
      metadata: { env_hash: "h", env_prefix: "/p", env_status: "cached", exit_code: 1, signal: null, services: ["default"] },
    });
  });
});
