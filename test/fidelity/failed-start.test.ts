// hypha/apps.py after a failed start: when worker.start raises, the server neither reads logs nor calls
// stop; when start returns but the service never appears, it calls get_logs(session_id, context=) then
// stop(session_id, context=). The worker must therefore bound the failed sessions it keeps by itself.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectToHypha, type HyphaServer } from "../../src/hypha/connect.js";
import { registerWorkerService, type RegisteredWorkerService } from "../../src/hypha/service.js";
import { CondaWorker } from "../../src/worker/conda-worker.js";
import { FailedStartRetention } from "../../src/worker/failed-starts.js";
import { AppManagerStandIn } from "../support/app-manager.js";
import { fakeSessionFactory, inertEnvManager } from "../support/fake-worker-session.js";
import { startHyphaTestServer, type HyphaTestServer } from "../support/hypha-server.js";

const ALICE = { workspace: "ws-user-alice", user: "alice" };
const RETAIN = 2;
let server: HyphaTestServer;
let workerClient: HyphaServer;
let registered: RegisteredWorkerService;
let manager: AppManagerStandIn;
let worker: CondaWorker;
let tmp: string;
const factory = fakeSessionFactory((config) => ({ outcome: config.app_id.startsWith("failing") ? "fail" : config.app_id === "silent" ? "never-register" : "serve" }));

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "hcw-fidelity-failed-"));
  server = await startHyphaTestServer();
  workerClient = await connectToHypha({ server_url: server.url, workspace: "ws-ops", client_id: "conda-worker-host", token: server.issueToken({ workspace: "ws-ops", userId: "operator" }) });
  worker = new CondaWorker({ env: inertEnvManager(tmp), workingDir: path.join(tmp, "work"), createSession: factory, workerWorkspace: "ws-ops", retainFailedStarts: RETAIN });
  registered = await registerWorkerService(workerClient, worker, { serviceId: "conda-worker", visibility: "public" });
  manager = await AppManagerStandIn.create(server);
  for (const appId of ["failing-1", "failing-2", "failing-3", "silent"]) {
    await manager.install({ manifest: { type: "conda-python", entry_point: "main.py", dependencies: ["python"] }, files: { "main.py": "print(1)" } }, { ...ALICE, appId, verify: false, compile: false });
  }
});

afterAll(async () => {
  await manager?.close();
  await registered?.unregister().catch(() => undefined);
  await workerClient?.disconnect();
  await server?.stop();
  await rm(tmp, { recursive: true, force: true });
});

describe("failed starts against the app manager's real flow", () => {
  it("a start that throws is never stopped by the server; the worker keeps only the newest failures", async () => {
    for (const appId of ["failing-1", "failing-2", "failing-3"]) {
      await expect(manager.start(appId, { ...ALICE, workerId: registered.id, timeout: 2 })).rejects.toThrow(new RegExp(`Failed to start app '${appId}', error: [^]*RuntimeError: boom`));
    }
    const methods = manager.calls.filter((c) => c.method !== "compile").map((c) => c.method);
    expect(methods).toEqual(["start", "start", "start"]);
    const failed = factory.created.filter((s) => s.config.app_id.startsWith("failing"));
    expect(failed.map((s) => s.config.app_id)).toEqual(["failing-1", "failing-2", "failing-3"]);
    // The oldest was stopped and forgotten by the worker itself; the two newest stay readable.
    expect(failed.map((s) => s.stopCalls)).toEqual([1, 0, 0]);
    expect(worker.sessionIds()).toEqual(failed.slice(1).map((s) => s.config.id));
    const stderr = await worker.get_logs(failed[2]!.config.id, "stderr");
    expect(String(stderr)).toMatch(/RuntimeError: boom/);
  });

  it("a start that returns without the service gets get_logs then stop, and fails with the server's timeout message", async () => {
    const before = manager.calls.length;
    await expect(manager.start("silent", { ...ALICE, workerId: registered.id, timeout: 0.3 })).rejects.toThrow(/Failed to start app 'silent', error: Application startup timed out, logs:/);
    expect(manager.calls.slice(before).map((c) => c.method)).toEqual(["start", "get_logs", "stop"]);
    expect(manager.calls.at(-2)!.kwargs).toEqual({ context: expect.objectContaining({ ws: "ws-user-alice" }) });
    expect(factory.created.at(-1)!.stopCalls).toBe(1);
  });
});

describe("FailedStartRetention", () => {
  it("forgets the oldest beyond the limit and not what was stopped meanwhile", () => {
    const forgotten: string[] = [];
    const retention = new FailedStartRetention(2, (id) => forgotten.push(id));
    retention.add("a");
    retention.add("b");
    retention.remove("a");
    retention.add("c");
    expect(forgotten).toEqual([]);
    retention.add("d");
    expect(forgotten).toEqual(["b"]);
    expect(retention.ids()).toEqual(["c", "d"]);
  });
});
