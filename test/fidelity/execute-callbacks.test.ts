// Upstream's conda worker: execute(session_id, script, config=None, progress_callback=None,
// output_callback=None, context=None) (hypha/workers/conda.py). A client passing those keywords must not
// be refused; progress gets upstream's {type, message} pair, output each output item; failing or hanging
// callbacks never fail the execution.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectToHypha, type HyphaServer } from "../../src/hypha/connect.js";
import { registerWorkerService, type RegisteredWorkerService } from "../../src/hypha/service.js";
import { CondaWorker } from "../../src/worker/conda-worker.js";
import { runWithExecuteCallbacks } from "../../src/worker/execute-callbacks.js";
import { silentLogger } from "../../src/logger.js";
import { AppManagerStandIn } from "../support/app-manager.js";
import { fakeSessionFactory, inertEnvManager } from "../support/fake-worker-session.js";
import { startHyphaTestServer, type HyphaTestServer } from "../support/hypha-server.js";

const ALICE = { workspace: "ws-user-alice", user: "alice" };
let server: HyphaTestServer;
let workerClient: HyphaServer;
let registered: RegisteredWorkerService;
let manager: AppManagerStandIn;
let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "hcw-fidelity-exec-"));
  server = await startHyphaTestServer();
  workerClient = await connectToHypha({ server_url: server.url, workspace: "ws-ops", client_id: "conda-worker-host", token: server.issueToken({ workspace: "ws-ops", userId: "operator" }) });
  const worker = new CondaWorker({ env: inertEnvManager(tmp), workingDir: path.join(tmp, "work"), createSession: fakeSessionFactory({ outcome: "serve" }), workerWorkspace: "ws-ops" });
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

describe("execute with upstream's callbacks", () => {
  it("accepts progress_callback and output_callback keywords from a Python-style call", async () => {
    // The scripted session registers nothing on Hypha: start detached.
    const session = await manager.start("app", { ...ALICE, workerId: registered.id, timeout: 5, wait_for_service: false });
    const progress: unknown[] = [];
    const outputs: unknown[] = [];
    const result = (await manager.callWithKwargs(registered.id, "execute", [session.id], {
      script: "print(6 * 7)",
      config: { timeout: 5 },
      progress_callback: (m: unknown) => void progress.push(m),
      output_callback: (o: unknown) => void outputs.push(o),
      context: manager.contextFor(ALICE),
    })) as { status: string; outputs: unknown[] };
    expect(result.status).toBe("ok");
    expect(progress).toEqual([
      { type: "info", message: "Executing code in the app..." },
      { type: "success", message: "Code executed successfully" },
    ]);
    expect(outputs).toEqual(result.outputs);
    await manager.stop(session.id);
  });

  it("never lets a failing callback fail the execution", async () => {
    const result = await runWithExecuteCallbacks(
      { progress_callback: () => Promise.reject(new Error("gone")), output_callback: () => { throw new Error("boom"); } },
      silentLogger,
      async () => ({ status: "error", outputs: [{ type: "stream", name: "stderr", text: "x" }], error: { ename: "E", evalue: "v", traceback: [] } }),
    );
    expect(result.status).toBe("error");
  });
});
