/**
 * Apps that connect to Hypha themselves (the real hypha_rpc in their env) instead of through the bridge:
 * `start` must see their service through the worker's own connection and return as soon as the server
 * has it, and an entry point that registers with top-level await and returns must keep serving.
 * CI runs this with the stdlib direct client of test/support (it speaks the protocol the test server
 * speaks); with HYPHA_CONDA_TEST_HYPHA_RPC set to a folder of wheels holding hypha_rpc and its
 * dependencies, the same checks run with the real hypha_rpc installed from its `pip:` dependency.
 * The app's start timeout is far longer than the test's: a worker that waits for the timeout fails here.
 */
import path from "node:path";
import { existsSync, statSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectToHypha, type HyphaServer } from "../../src/hypha/connect.js";
import type { RegisteredWorkerService } from "../../src/hypha/service.js";
import type { CondaWorker } from "../../src/worker/conda-worker.js";
import { AppManagerStandIn, logContents } from "../support/app-manager.js";
import type { AppSession } from "../support/app-manager/sessions.js";
import { directClientFiles, directClientMain } from "../support/direct-hypha-client.js";
import type { HyphaTestServer } from "../support/hypha-server.js";
import { openAppWorkerBed, type AppWorkerBed } from "../support/app-worker-bed.js";

const ALICE = { workspace: "ws-user-alice", user: "alice" };
// Far beyond the test's own limit: a start that waits for it cannot pass.
const APP_START_TIMEOUT_S = 600;
const REAL_HYPHA_RPC = process.env.HYPHA_CONDA_TEST_HYPHA_RPC;

let server: HyphaTestServer;
let manager: AppManagerStandIn;
let workerClient: HyphaServer;
let registered: RegisteredWorkerService;
let worker: CondaWorker;

function wheelFolder(): string {
  if (!REAL_HYPHA_RPC) return path.resolve("fixtures/wheels");
  const resolved = path.resolve(REAL_HYPHA_RPC);
  return existsSync(resolved) && statSync(resolved).isFile() ? path.dirname(resolved) : resolved;
}

let bed: AppWorkerBed;

beforeAll(async () => {
  // The worker lives in workspace `public`, the apps in alice's: it may not read their protected services.
  bed = await openAppWorkerBed("direct", { toolEnv: { PIP_NO_INDEX: "1", PIP_FIND_LINKS: wheelFolder() }, createTimeoutMs: 300_000 });
  ({ server, manager, workerClient, registered, worker } = bed);
}, 60_000);

afterAll(async () => {
  await bed?.close();
});

async function installAndStart(appId: string, manifest: Record<string, unknown>, files: Record<string, string>): Promise<{ session: AppSession; startMs: number }> {
  const source = { manifest: { type: "conda-python", id: appId, name: appId, version: "0.1.0", entry_point: "main.py", channels: ["conda-forge"], ...manifest }, files };
  await manager.install(source, { ...ALICE, verify: false, compile: false });
  const startedAt = Date.now();
  const session = await manager.start(appId, { ...ALICE, timeout: APP_START_TIMEOUT_S });
  return { session, startMs: Date.now() - startedAt };
}

/** The app answers through the server as client `{workspace}/{client_id}`, and is still running afterwards. */
async function expectServing(session: AppSession): Promise<void> {
  const client = await connectToHypha({ server_url: server.url, token: server.issueToken({ workspace: ALICE.workspace, userId: ALICE.user }) });
  try {
    const svc = await client.getService(`${session.id}:default`);
    expect(await (svc.add as (a: number, b: number) => Promise<number>)(2, 3)).toBe(5);
    expect(((await worker.get_session_info(session.id)) as { status: string }).status).toBe("running");
    expect(await (svc.add as (a: number, b: number) => Promise<number>)(20, 22)).toBe(42);
  } finally {
    await client.disconnect();
  }
}

function warnings(session: AppSession): unknown[] {
  return (session.progress as Array<{ type?: string }>).filter((p) => p.type === "warning");
}

describe("an app with its own Hypha client (stdlib direct client, as CI runs it)", () => {
  it("start returns once the server has the service, not at the timeout; the app keeps serving after its entry point returned; stop ends it", async () => {
    const { session, startMs } = await installAndStart("direct-app", { dependencies: ["python"], files_to_stage: ["direct_hypha/"] }, { "main.py": directClientMain(), ...directClientFiles() });
    console.log(`direct client app: start returned after ${startMs} ms (timeout ${APP_START_TIMEOUT_S} s)`);
    expect(session.start_result).toBe(session.id);
    expect(warnings(session)).toEqual([]);
    expect(server.router.registry.get(`${session.id}:default`)).toBeDefined();
    await expectServing(session);
    const stdout = logContents(await manager.getLogs(session.id, { type: "stdout" }));
    expect(stdout.join("\n")).toContain(`registered directly as ${session.id}`);
    await manager.stop(session.id);
    await manager.settle();
    expect(worker.sessionIds()).not.toContain(session.id);
    expect(server.router.registry.get(`${session.id}:default`)).toBeUndefined();
    expect(manager.backgroundErrors).toEqual([]);
  }, 120_000);
});

const REAL_APPS = {
  // Upstream's template: hypha_rpc.sync, the service registered, the script ends.
  sync: [
    "import os",
    "from hypha_rpc.sync import connect_to_server",
    "server = connect_to_server({'client_id': os.environ['HYPHA_CLIENT_ID'], 'server_url': os.environ['HYPHA_SERVER_URL'],",
    "    'workspace': os.environ['HYPHA_WORKSPACE'], 'token': os.environ['HYPHA_TOKEN'], 'method_timeout': 30})",
    "server.register_service({'id': 'default', 'config': {'visibility': 'public'}, 'add': lambda a, b: a + b})",
    "print('registered with hypha_rpc', flush=True)",
  ],
  // hypha_rpc's async client, top-level await, no serve(): the entry point returns at once.
  async: [
    "import os",
    "from hypha_rpc import connect_to_server",
    "server = await connect_to_server({'server_url': os.environ['HYPHA_SERVER_URL'], 'workspace': os.environ['HYPHA_WORKSPACE'],",
    "    'client_id': os.environ['HYPHA_CLIENT_ID'], 'token': os.environ['HYPHA_TOKEN']})",
    "await server.register_service({'id': 'default', 'add': lambda a, b: a + b})",
    "print('registered with hypha_rpc', flush=True)",
  ],
};

describe.skipIf(!REAL_HYPHA_RPC)(`an app with the real hypha_rpc in its env${REAL_HYPHA_RPC ? "" : " (skipped: set HYPHA_CONDA_TEST_HYPHA_RPC to a folder of wheels with hypha_rpc and its dependencies)"}`, () => {
  it.each(Object.entries(REAL_APPS))("%s client: start returns once the server has the service; the app keeps serving; stop ends it", async (kind, lines) => {
    const manifest = { dependencies: ["python", "pip", { pip: ["hypha-rpc"] }] };
    const { session, startMs } = await installAndStart(`real-rpc-${kind}`, manifest, { "main.py": lines.join("\n") });
    console.log(`real hypha_rpc (${kind}): start returned after ${startMs} ms (timeout ${APP_START_TIMEOUT_S} s)`);
    expect(warnings(session)).toEqual([]);
    await expectServing(session);
    expect(logContents(await manager.getLogs(session.id, { type: "stdout" })).join("\n")).toContain("registered with hypha_rpc");
    await manager.stop(session.id);
    await manager.settle();
    expect(server.router.registry.get(`${session.id}:default`)).toBeUndefined();
  }, 300_000);
});
