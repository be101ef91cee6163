// When an app's client disconnects, hypha/apps.py stops its session with context
// {ws: <app workspace>, user: <root user>} (not the installing user's). The worker must accept that stop.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectToHypha, type HyphaServer } from "../../src/hypha/connect.js";
import { registerWorkerService, type RegisteredWorkerService } from "../../src/hypha/service.js";
import { CondaWorker } from "../../src/worker/conda-worker.js";
import { AppManagerStandIn } from "../support/app-manager.js";
import { fakeSessionFactory, inertEnvManager } from "../support/fake-worker-session.js";
import { startHyphaTestServer, type HyphaTestServer } from "../support/hypha-server.js";

const ALICE = { workspace: "ws-user-alice", user: "alice" };
let server: HyphaTestServer;
let workerClient: HyphaServer;
let registered: RegisteredWorkerService;
let manager: AppManagerStandIn;
let worker: CondaWorker;
let tmp: string;
const factory = fakeSessionFactory({ outcome: "serve" });

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "hcw-fidelity-disconnect-"));
  server = await startHyphaTestServer();
  workerClient = await connectToHypha({ server_url: server.url, workspace: "ws-ops", client_id: "conda-worker-host", token: server.issueToken({ workspace: "ws-ops", userId: "operator" }) });
  worker = new CondaWorker({ env: inertEnvManager(tmp), workingDir: path.join(tmp, "work"), createSession: factory, workerWorkspace: "ws-ops" });
  registered = await registerWorkerService(workerClient, worker, { serviceId: "conda-worker", visibility: "public" });
  manager = await AppManagerStandIn.create(server);
  await manager.install({ manifest: { type: "conda-python", entry_point: "main.py", dependencies: ["python"] }, files: { "main.py": "print(1)" } }, { ...ALICE, appId: "app", verify: false, compile: false });
});

afterAll(async () => {
  await manager?.close();
  await registered?.unregister().catch(() => undefined);
  await workerClient?.disconnect();
  await server?.stop();
  await rm(tmp, { recursive: true, force: true });
});

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
