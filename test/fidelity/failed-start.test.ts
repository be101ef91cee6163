// hypha/apps.py after a failed start: when worker.start raises, the server neither reads logs nor calls
// stop; when start returns but the service never appears, it calls get_logs(session_id, context=) then
// stop(session_id, context=). The worker must therefore bound the failed sessions it keeps by itself.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HyphaServer } from "../../src/hypha/connect.js";
import type { RegisteredWorkerService } from "../../src/hypha/service.js";
import type { CondaWorker } from "../../src/worker/conda-worker.js";
import { FailedStartRetention } from "../../src/worker/failed-starts.js";
import { logContents, type AppManagerStandIn } from "../support/app-manager.js";
import { fakeSessionFactory } from "../support/fake-worker-session.js";
import type { HyphaTestServer } from "../support/hypha-server.js";
import { ALICE, closeWorkerBed, openWorkerBed } from "./worker-bed.js";

const RETAIN = 2;
let server: HyphaTestServer;
let workerClient: HyphaServer;
let registered: RegisteredWorkerService;
let manager: AppManagerStandIn;
let worker: CondaWorker;
let tmp: string;
const factory = fakeSessionFactory((config) => ({ outcome: config.app_id.startsWith("failing") ? "fail" : config.app_id === "silent" ? "never-register" : "serve" }));

beforeAll(async () => {
  ({ tmp, server, workerClient, worker, registered, manager } = await openWorkerBed("hcw-fidelity-failed-", { createSession: factory, retainFailedStarts: RETAIN }, ["failing-1", "failing-2", "failing-3", "silent"]));
});

afterAll(() => closeWorkerBed({ tmp, server, workerClient, registered, manager }));

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
    expect(logContents(stderr).join("\n")).toMatch(/RuntimeError: boom/);
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
