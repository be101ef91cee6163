/**
 * waitUntilAppIsUp with the server's view (ServicePresence): an app whose service the bridge never sees
 * (it connected to Hypha itself) is up as soon as the server has `{workspace}/{client_id}:{service}`;
 * without it the bridge's wait decides, as before.
 */
import { describe, expect, it } from "vitest";
import type { SessionInfo, StartConfig } from "../../src/session/types.js";
import { waitUntilAppIsUp, type StartedSession } from "../../src/worker/wait-until-up.js";

const CONFIG: StartConfig = { id: "ws-a/_rapp_c__rlb", app_id: "app", workspace: "ws-a", client_id: "_rapp_c__rlb", server_url: "http://127.0.0.1:9", timeout: 0.5, manifest: {} };

/** A running session whose bridge never sees the service: its wait rejects at the timeout, as the real one does. */
function silentOnBridge(): StartedSession {
  return {
    info: () => ({ status: "running" }) as SessionInfo,
    waitForService: (id, timeoutMs) => new Promise((_, reject) => setTimeout(() => reject(new Error(`service ${id} not registered within ${timeoutMs} ms`)), timeoutMs)),
  };
}

describe("waitUntilAppIsUp with the server's view", () => {
  it("returns without a warning once the server has the app's service, asking for the full id", async () => {
    const asked: string[] = [];
    const warnings: string[] = [];
    const presence = async (id: string) => {
      asked.push(id);
      return asked.length >= 2;
    };
    await waitUntilAppIsUp(silentOnBridge(), { ...CONFIG, timeout: 30 }, "default", (m) => warnings.push(m), undefined, presence);
    expect(warnings).toEqual([]);
    expect(asked).toEqual(["ws-a/_rapp_c__rlb:default", "ws-a/_rapp_c__rlb:default"]);
  });

  it("falls back to the bridge's wait (warning at the timeout) when the server never has it, or its answers fail", async () => {
    for (const presence of [async () => false, async () => Promise.reject(new Error("connection lost"))]) {
      const warnings: string[] = [];
      await waitUntilAppIsUp(silentOnBridge(), CONFIG, "default", (m) => warnings.push(m), undefined, presence);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/did not register service 'default'/);
    }
  });

  it("still returns on the bridge's registration when the server's answer never comes", async () => {
    const session: StartedSession = { info: () => ({ status: "running" }) as SessionInfo, waitForService: async () => undefined };
    const warnings: string[] = [];
    await waitUntilAppIsUp(session, { ...CONFIG, timeout: 30 }, "default", (m) => warnings.push(m), undefined, () => new Promise<boolean>(() => undefined));
    expect(warnings).toEqual([]);
  });
});
