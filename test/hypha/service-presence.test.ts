/**
 * The worker asks the server whether an app's service exists (service-presence.ts), through its own
 * connection in another workspace. On the test server as on 0.21.135 (hypha/core/workspace.py
 * get_service_info), a missing service is "Service not found" and a protected one of another workspace
 * is refused only after it was found.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectToHypha, type HyphaServer } from "../../src/hypha/connect.js";
import { createServicePresence } from "../../src/hypha/service-presence.js";
import { startHyphaTestServer, type HyphaTestServer } from "../support/hypha-server.js";

let server: HyphaTestServer;
let worker: HyphaServer;
let app: HyphaServer;

beforeAll(async () => {
  server = await startHyphaTestServer();
  worker = await connectToHypha({ server_url: server.url, workspace: "ws-ops", client_id: "worker", token: server.issueToken({ workspace: "ws-ops", userId: "operator" }) });
  app = await connectToHypha({ server_url: server.url, workspace: "ws-user-alice", client_id: "_rapp_x__rlb", token: server.issueToken({ workspace: "ws-user-alice", clientId: "_rapp_x__rlb", userId: "alice" }) });
  await app.registerService({ id: "hidden", add: (a: number, b: number) => a + b });
  await app.registerService({ id: "open", config: { visibility: "public" }, add: (a: number, b: number) => a + b });
});

afterAll(async () => {
  await app?.disconnect();
  await worker?.disconnect();
  await server?.stop();
});

describe("service presence through the worker's connection", () => {
  it("sees a public service and a protected one of another workspace (refused, but found)", async () => {
    const present = createServicePresence(worker);
    const getServiceInfo = worker.getServiceInfo as (id: string) => Promise<unknown>;
    await expect(getServiceInfo("ws-user-alice/_rapp_x__rlb:hidden")).rejects.toThrow(/Permission denied/);
    expect(await present("ws-user-alice/_rapp_x__rlb:hidden")).toBe(true);
    expect(await present("ws-user-alice/_rapp_x__rlb:open")).toBe(true);
  });

  it("does not see a service that is not registered, nor one of another client", async () => {
    const present = createServicePresence(worker);
    expect(await present("ws-user-alice/_rapp_x__rlb:default")).toBe(false);
    expect(await present("ws-user-alice/_rapp_other__rlb:hidden")).toBe(false);
  });

  it("answers false, never throws, once the connection is gone", async () => {
    const gone = await connectToHypha({ server_url: server.url, workspace: "ws-ops", client_id: "worker-2", token: server.issueToken({ workspace: "ws-ops", userId: "operator" }) });
    const present = createServicePresence(gone);
    expect(await present("ws-user-alice/_rapp_x__rlb:open")).toBe(true);
    await gone.disconnect();
    expect(await present("ws-user-alice/_rapp_x__rlb:open")).toBe(false);
  });
});
