/**
 * Upstream's app type end to end: the Hypha test server and its app-manager stand-in find the worker by
 * `conda-jupyter-kernel`, install (compile + verification start/stop) and start fixtures/apps/kernel-notes
 * through the real CondaWorker, Session, env manager (fake micromamba over the fixture channel) and
 * bridge; its cell registers a service with top-level await and returns, and the kernel keeps serving it.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectToHypha, type HyphaServer } from "../../src/hypha/connect.js";
import type { RegisteredWorkerService } from "../../src/hypha/service.js";
import type { CondaWorker } from "../../src/worker/conda-worker.js";
import type { ExecuteResult } from "../../src/bridge/types.js";
import { AppManagerStandIn } from "../support/app-manager.js";
import type { HyphaTestServer } from "../support/hypha-server.js";
import { openAppWorkerBed, type AppWorkerBed } from "../support/app-worker-bed.js";

const APP = path.resolve("fixtures/apps/kernel-notes");
const ALICE = { workspace: "ws-user-alice", user: "alice" };

let server: HyphaTestServer;
let manager: AppManagerStandIn;
let workerClient: HyphaServer;
let registered: RegisteredWorkerService;
let worker: CondaWorker;

let bed: AppWorkerBed;

beforeAll(async () => {
  bed = await openAppWorkerBed("kernel", { toolEnv: { PIP_NO_INDEX: "1" } });
  ({ server, manager, workerClient, registered, worker } = bed);
}, 60_000);

afterAll(async () => {
  await bed?.close();
});

describe("a conda-jupyter-kernel app through the app-manager stand-in", () => {
  it("is found by its type, installs, serves after its cell returned, and executes cells in upstream's shape", async () => {
    expect((await manager.listWorkers(ALICE)).find((w) => w.id === registered.id)?.supported_types).toContain("conda-jupyter-kernel");
    await manager.install(APP, { ...ALICE, appId: "kernel-notes", timeout: 60 });
    const session = await manager.start("kernel-notes", ALICE);
    const context = manager.contextFor(ALICE);
    const call = (method: string, positional: unknown[], kwargs: Record<string, unknown> = {}) => manager.callWithKwargs(registered.id, method, positional, { ...kwargs, context });
    const execute = (script: string) => call("execute", [session.id], { script, config: { timeout: 10 } }) as Promise<ExecuteResult>;

    const info = (await call("get_session_info", [session.id])) as { status: string; app_type: string };
    expect(info).toMatchObject({ status: "running", app_type: "conda-jupyter-kernel" });
    await expect.poll(async () => JSON.stringify(await manager.getLogs(session.id, { type: "stdout" })), { timeout: 15_000 }).toContain("Registered kernel-notes over 2 rows");

    const client = await connectToHypha({ server_url: server.url, token: server.issueToken({ workspace: "ws-user-alice", userId: "alice" }) });
    try {
      const notes = await client.getService(`${session.id}:kernel-notes`);
      expect(await (notes.weighted_total as () => Promise<number>)()).toBe(200);
      expect(await (notes.add_note as (t: string) => Promise<number>)("from a Hypha client")).toBe(1);

      // The cell's namespace is the one later cells see: the note added through the service is there.
      expect(await execute("print(settings['unit'])\nprint('notes:', len(notes))\nnotes[-1]")).toEqual({
        status: "ok",
        outputs: [
          { type: "stream", name: "stdout", text: "points\nnotes: 1\n" },
          { type: "execute_result", data: { "text/plain": "'from a Hypha client'" }, metadata: {}, execution_count: 2 },
        ],
      });
      // Top-level await in a later cell, on the kernel's loop, and state a cell leaves for the service.
      const awaited = await execute("import asyncio\nawait asyncio.sleep(0)\nadd_note('from a cell')");
      expect(awaited).toEqual({ status: "ok", outputs: [{ type: "execute_result", data: { "text/plain": "2" }, metadata: {}, execution_count: 3 }] });
      expect(await (notes.list_notes as () => Promise<string[]>)()).toEqual(["from a Hypha client", "from a cell"]);

      const failed = await execute("undefined_var");
      expect(failed.status).toBe("error");
      expect(failed.outputs).toEqual([]);
      expect(failed.error).toMatchObject({ ename: "NameError", evalue: "name 'undefined_var' is not defined" });
      expect(failed.error?.traceback.join("")).toContain("NameError: name 'undefined_var' is not defined");
      // As upstream's worker, executions leave their output and errors in the session's logs (either log shape).
      expect(JSON.stringify(await manager.getLogs(session.id, { type: "stdout" }))).toContain('"notes: 1"');
      expect(JSON.stringify(await manager.getLogs(session.id, { type: "error" }))).toContain(`"Error: NameError: name 'undefined_var' is not defined"`);

      // files_to_stage as upstream: a file, a renamed file and a folder, next to the entry point.
      const staged = await execute("sorted(os.listdir('.')), os.listdir('models')");
      expect(staged.outputs[0]).toMatchObject({ type: "execute_result", data: { "text/plain": "(['data.csv', 'main.py', 'models', 'settings.json'], ['weights.txt'])" } });
      // Still serving after all that.
      expect(await (notes.weighted_total as () => Promise<number>)()).toBe(200);
    } finally {
      await client.disconnect();
    }
    await manager.stop(session.id);
    await manager.settle();
    expect(manager.backgroundErrors).toEqual([]);
    expect(worker.sessionIds()).not.toContain(session.id);
  }, 120_000);

  it("a kernel app whose cell registers nothing starts at once (upstream's start returns when the cell ran) and keeps running", async () => {
    const manifest = { type: "conda-jupyter-kernel", name: "Plain cell", entry_point: "main.py", dependencies: ["python=3.11"], channels: ["conda-forge"] };
    await manager.install({ manifest, files: { "main.py": "import platform\nprint('python', platform.python_version(), flush=True)\n" } }, { ...ALICE, appId: "plain-cell", verify: false });
    // The server waits for nothing here; the worker (whose manifest default is `default`) must return when
    // the cell ran, not report at the timeout that `default` never came.
    const session = await manager.start("plain-cell", { ...ALICE, timeout: 20, wait_for_service: false });
    const warnings = (session.progress as Array<{ type?: string; message?: string }>).filter((p) => p.type === "warning");
    expect(warnings).toEqual([]);
    const context = manager.contextFor(ALICE);
    const info = (await manager.callWithKwargs(registered.id, "get_session_info", [session.id], { context })) as { status: string };
    expect(info.status).toBe("running");
    const result = (await manager.callWithKwargs(registered.id, "execute", [session.id], { script: "1 + 1", config: null, context })) as ExecuteResult;
    expect(result).toEqual({ status: "ok", outputs: [{ type: "execute_result", data: { "text/plain": "2" }, metadata: {}, execution_count: 2 }] });
    await manager.stop(session.id);
    await manager.settle();
  }, 120_000);
});
