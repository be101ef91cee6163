/**
 * An app that uses the server object beyond register_service (fixtures/apps/workspace-tools: generate_token,
 * get_workspace_info, list_clients, echo, log, subscribe + on + emit), with no hypha-rpc in its env, run
 * through the real worker, installed and started by the app-manager stand-in on the Hypha test server.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import YAML from "yaml";
import { connectToHypha, type HyphaServer } from "../../src/hypha/connect.js";
import type { RegisteredWorkerService } from "../../src/hypha/service.js";
import type { CondaWorker } from "../../src/worker/conda-worker.js";
import { AppManagerStandIn } from "../support/app-manager.js";
import type { HyphaTestServer } from "../support/hypha-server.js";
import { openAppWorkerBed, type AppWorkerBed } from "../support/app-worker-bed.js";

const APP = path.resolve("fixtures/apps/workspace-tools");
const ALICE = { workspace: "ws-user-alice", user: "alice" };
type Fn = (...args: unknown[]) => Promise<unknown>;

let server: HyphaTestServer;
let manager: AppManagerStandIn;
let workerClient: HyphaServer;
let registered: RegisteredWorkerService;
let worker: CondaWorker;

let bed: AppWorkerBed;

beforeAll(async () => {
  bed = await openAppWorkerBed("wstools");
  ({ server, manager, workerClient, registered, worker } = bed);
}, 60_000);

afterAll(async () => {
  await bed?.close();
});

it("workspace-tools: helper tokens, workspace facts, echo and job-done events through the bridge", async () => {
  const manifest = YAML.parse(readFileSync(path.join(APP, "manifest.yaml"), "utf8")) as Record<string, unknown>;
  await manager.install({ manifest, files: { "main.py": readFileSync(path.join(APP, "main.py"), "utf8") } }, { ...ALICE, timeout: 60 });
  const session = await manager.start("workspace-tools", { ...ALICE, timeout: 60 });
  const appClient = session.id.split("/")[1] as string;
  const user = await connectToHypha({ server_url: server.url, workspace: ALICE.workspace, client_id: "alice-desk", token: server.issueToken({ workspace: ALICE.workspace, userId: "alice" }) });
  const helpers: HyphaServer[] = [];
  try {
    const svc = (await user.getService(`${session.id}:default`)) as unknown as Record<string, Fn>;

    const facts = (await svc.workspace!()) as { id: string; name: string; clients: string[] };
    expect(facts).toMatchObject({ id: ALICE.workspace, name: ALICE.workspace });
    expect(facts.clients).toEqual(expect.arrayContaining([session.id, `${ALICE.workspace}/alice-desk`]));

    // The token the app generated lets a helper connect as the client it names.
    const issued = (await svc.helper_token!("indexer")) as { client_id: string; token: string };
    expect(issued.client_id).toBe(`${appClient}-indexer`);
    const helper = await connectToHypha({ server_url: server.url, workspace: ALICE.workspace, client_id: issued.client_id, token: issued.token });
    helpers.push(helper);
    expect(helper.config.client_id).toBe(issued.client_id);

    const payload = { bytes: new Uint8Array([0, 1, 254, 255]), nested: { list: [1, "two", null] } };
    const echoed = (await svc.ping_server!(payload)) as { bytes: Uint8Array; nested: unknown };
    expect(Array.from(echoed.bytes)).toEqual([0, 1, 254, 255]);
    expect(echoed.nested).toEqual({ list: [1, "two", null] });

    // Events: the app's own emit reaches every subscriber (itself included); the user's reaches the app.
    const userSeen: unknown[] = [];
    user.on!("job-done", (message) => userSeen.push((message as { data: unknown }).data));
    await (user.subscribe as Fn)("job-done");
    expect(await svc.notify!({ id: 1 })).toBe(true);
    await (user.emit as Fn)({ type: "job-done", to: "*", data: { id: 2 } });
    await expect.poll(async () => svc.seen!(), { timeout: 10_000 }).toEqual([
      { from: session.id, job: { id: 1 } },
      { from: `${ALICE.workspace}/alice-desk`, job: { id: 2 } },
    ]);
    await expect.poll(() => userSeen, { timeout: 10_000 }).toEqual(expect.arrayContaining([{ id: 1 }]));
    const logged = (await (user.getEvents as Fn)("log")) as Array<{ data: string }>;
    expect(logged.map((e) => e.data)).toContain("job 1 done");
  } finally {
    await Promise.all(helpers.map((h) => h.disconnect().catch(() => undefined)));
    await user.disconnect();
    await manager.stop(session.id);
    await manager.settle();
  }
  expect(manager.backgroundErrors).toEqual([]);
}, 120_000);
