// When an app's client disconnects, hypha/apps.py stops its session with context
// {ws: <app workspace>, user: <root user>} (not the installing user's). The worker must accept that stop.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectToHypha, type HyphaServer } from "../../src/hypha/connect.js";
import type { RegisteredWorkerService } from "../../src/hypha/service.js";
import type { CondaWorker } from "../../src/worker/conda-worker.js";
import type { AppManagerStandIn } from "../support/app-manager.js";
import { fakeSessionFactory } from "../support/fake-worker-session.js";
import type { HyphaTestServer } from "../support/hypha-server.js";
import { ALICE, closeWorkerBed, openWorkerBed } from "./worker-bed.js";

let server: HyphaTestServer;
let workerClient: HyphaServer;
let registered: RegisteredWorkerService;
let manager: AppManagerStandIn;
let worker: CondaWorker;
let tmp: string;
const factory = fakeSessionFactory({ outcome: "serve" });

beforeAll(async () => {
  ({ tmp, server, workerClient, worker, registered, manager } = await openWorkerBed("hcw-fidelity-disconnect-", { createSession: factory }, ["app"]));
});

afterAll(() => closeWorkerBed({ tmp, server, workerClient, registered, manager }));

describe("stop on the app client's disconnect", () => {
  it("is accepted with the root user in the app's workspace, and stops the session", async () => {
    const clientId = "_rapp_disconnect-test-12345678__rlb";
    // The app's own client: what a running app connects as.
    const app = await connectToHypha({ server_url: server.url, workspace: ALICE.workspace, client_id: clientId, token: server.issueToken({ workspace: ALICE.workspace, clientId, userId: "alice" }) });
    await app.registerService({ id: "default", config: { visibility: "public" }, ping: () => "pong" });
    const session = await manager.start("app", { ...ALICE, clientId, workerId: registered.id, timeout: 5 });
    expect(worker.sessionIds()).toContain(session.id);
    await app.disconnect();
    await expect.poll(() => manager.calls.filter((c) => c.method === "stop").length, { timeout: 5_000 }).toBe(1);
    await manager.settle();
    expect(manager.backgroundErrors).toEqual([]);
    const stop = manager.calls.find((c) => c.method === "stop")!;
    expect(stop.kwargs.context).toMatchObject({ ws: ALICE.workspace, user: { id: "root" } });
    expect(factory.created.at(-1)!.stopCalls).toBe(1);
    expect(worker.sessionIds()).not.toContain(session.id);
  });
});
