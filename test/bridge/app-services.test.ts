/** AppServices.preconnect: the app's Hypha connection opens before the app asks, once, and is reused. */
import { describe, expect, it } from "vitest";
import { AppServices } from "../../src/bridge/app-services.js";
import type { AppIdentity, ServiceMode } from "../../src/bridge/types.js";
import type { HyphaServer } from "../../src/hypha/connect.js";
import { eventually, startApp } from "./helpers.js";

const IDENTITY: AppIdentity = { sessionId: "ws/app-1", appId: "app", workspace: "ws", clientId: "app-1", serverUrl: "http://127.0.0.1:9", token: "t" };

function countingMode(fail = 0): { mode: ServiceMode; calls: () => number; disconnects: () => number } {
  let calls = 0;
  let disconnects = 0;
  const server = { config: { workspace: "ws", client_id: "app-1" }, disconnect: async () => void (disconnects += 1), registerService: async (s: Record<string, unknown>) => ({ id: `ws/app-1:${String(s.id)}` }), unregisterService: async () => undefined } as unknown as HyphaServer;
  const mode: ServiceMode = {
    kind: "hypha",
    connect: async () => {
      calls += 1;
      if (calls <= fail) throw new Error("refused");
      return server;
    },
  };
  return { mode, calls: () => calls, disconnects: () => disconnects };
}

describe("AppServices.preconnect", () => {
  it("connects once ahead of the app, and the app's connect and register reuse that connection", async () => {
    const { mode, calls } = countingMode();
    const services = new AppServices(IDENTITY, mode);
    services.preconnect();
    expect(calls()).toBe(1);
    const info = await services.connect({ workspace: "ws", client_id: "app-1" });
    expect(info.client_id).toBe("app-1");
    await services.register({ id: "default" });
    expect(calls()).toBe(1);
  });

  it("a failed preconnect is retried when the app connects", async () => {
    const { mode, calls } = countingMode(1);
    const services = new AppServices(IDENTITY, mode);
    services.preconnect();
    await new Promise((resolve) => setImmediate(resolve));
    await services.connect({ workspace: "ws", client_id: "app-1" });
    expect(calls()).toBe(2);
  });

  it("an app that never connected still has its preconnected client closed at disconnect", async () => {
    const { mode, disconnects } = countingMode();
    const services = new AppServices(IDENTITY, mode);
    services.preconnect();
    await services.disconnect();
    expect(disconnects()).toBe(1);
  });

  it("does nothing in local mode", async () => {
    const services = new AppServices(IDENTITY, { kind: "local" });
    services.preconnect();
    await expect(services.connect({ workspace: "ws", client_id: "app-1" })).resolves.toMatchObject({ local: true });
  });
});

describe("the runner announces an app that imports the bridge's hypha_rpc", () => {
  function hyphaMode(): { mode: ServiceMode; connects: () => number } {
    const { mode, calls } = countingMode();
    return { mode, connects: calls };
  }

  it("connects the app's client as soon as it imports hypha_rpc, before connect_to_server", async () => {
    const { mode, connects } = hyphaMode();
    const app = startApp("import hypha_rpc, sys, time\nprint('imported', flush=True)\ntime.sleep(30)\n", { mode });
    try {
      await eventually(() => app.stdout().includes("imported"), "the import");
      await eventually(() => connects() === 1, "the preconnect");
    } finally {
      await app.stop();
    }
  });

  it("an app that never imports it (its own client, or none) gets no connection from the worker", async () => {
    const { mode, connects } = hyphaMode();
    const app = startApp("import sys\nprint('plain', flush=True)\n", { mode });
    try {
      await app.exited;
      await app.host.mainDone;
      expect(app.stdout()).toContain("plain");
      expect(connects()).toBe(0);
    } finally {
      await app.stop();
    }
  });
});
