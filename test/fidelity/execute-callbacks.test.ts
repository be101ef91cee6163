// Upstream's conda worker: execute(session_id, script, config=None, progress_callback=None,
// output_callback=None, context=None) (hypha/workers/conda.py). A client passing those keywords must not
// be refused; progress gets upstream's {type, message} pair, output one Jupyter iopub message per output
// (conda_kernel.py passes the kernel's iopub messages); failing or hanging callbacks never fail the execution.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HyphaServer } from "../../src/hypha/connect.js";
import type { RegisteredWorkerService } from "../../src/hypha/service.js";
import type { CondaWorker } from "../../src/worker/conda-worker.js";
import { runWithExecuteCallbacks } from "../../src/worker/execute-callbacks.js";
import { silentLogger } from "../../src/logger.js";
import type { AppManagerStandIn } from "../support/app-manager.js";
import { fakeSessionFactory } from "../support/fake-worker-session.js";
import type { HyphaTestServer } from "../support/hypha-server.js";
import { ALICE, closeWorkerBed, openWorkerBed } from "./worker-bed.js";

let server: HyphaTestServer;
let workerClient: HyphaServer;
let registered: RegisteredWorkerService;
let manager: AppManagerStandIn;
let tmp: string;

beforeAll(async () => {
  ({ tmp, server, workerClient, registered, manager } = await openWorkerBed("hcw-fidelity-exec-", { createSession: fakeSessionFactory({ outcome: "serve" }) }, ["app"]));
});

afterAll(() => closeWorkerBed({ tmp, server, workerClient, registered, manager }));

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
    expect(outputs).toEqual([
      { msg_type: "stream", header: { msg_type: "stream" }, parent_header: {}, metadata: {}, content: { name: "stdout", text: "ran 12 chars" } },
    ]);
    await manager.stop(session.id);
  });

  it("hands output_callback the kernel's iopub messages: each output, then the error", async () => {
    const messages: unknown[] = [];
    await runWithExecuteCallbacks({ output_callback: (m: unknown) => void messages.push(m) }, silentLogger, async () => ({
      status: "error",
      outputs: [
        { type: "stream", name: "stdout", text: "1\n" },
        { type: "execute_result", data: { "text/plain": "2" }, metadata: {}, execution_count: 3 },
      ],
      error: { ename: "ValueError", evalue: "bad", traceback: ["ValueError: bad\n"] },
    }));
    expect(messages.map((m) => [(m as { msg_type: string }).msg_type, (m as { content: unknown }).content])).toEqual([
      ["stream", { name: "stdout", text: "1\n" }],
      ["execute_result", { data: { "text/plain": "2" }, metadata: {}, execution_count: 3 }],
      ["error", { ename: "ValueError", evalue: "bad", traceback: ["ValueError: bad\n"] }],
    ]);
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
