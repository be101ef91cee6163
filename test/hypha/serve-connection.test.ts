/** Reconnection: the worker stays registered across server restarts, and its sessions survive. */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { connectToHypha, type HyphaServer } from "../../src/hypha/connect.js";
import { WorkerConnection } from "../../src/hypha/serve-connection.js";
import { CondaWorker } from "../../src/worker/conda-worker.js";
import { startHyphaTestServer, type HyphaTestServer } from "../support/hypha-server.js";
import { fakeSessionFactory, inertEnvManager } from "../support/fake-worker-session.js";

type Fn = (...args: unknown[]) => Promise<unknown>;
let server: HyphaTestServer;
let connection: WorkerConnection;
let worker: CondaWorker;
let tmp: string;
const clients: HyphaServer[] = [];

async function aliceClient(): Promise<HyphaServer> {
  const client = await connectToHypha({ server_url: server.url, token: server.issueToken({ workspace: "ws-user-alice", userId: "alice" }) });
  clients.push(client);
  return client;
}

async function getWorker(): Promise<Record<string, unknown>> {
  const client = await aliceClient();
  return client.getService("ws-ops/worker-1:conda-worker");
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "hcw-reconnect-"));
  server = await startHyphaTestServer();
  worker = new CondaWorker({ env: inertEnvManager(tmp), workingDir: path.join(tmp, "work"), createSession: fakeSessionFactory({ outcome: "serve" }) });
  connection = new WorkerConnection(worker, {
    serverUrl: server.url, workspace: "ws-ops", clientId: "worker-1", token: server.issueToken({ workspace: "ws-ops", userId: "operator" }),
    service: { serviceId: "conda-worker", visibility: "public" }, watchIntervalMs: 100, reconnectDelayMs: 100,
  });
  expect(await connection.start()).toBe("ws-ops/worker-1:conda-worker");
  const svc = await getWorker();
  await (svc.start as Fn)({ id: "ws-user-alice/app1", app_id: "a", workspace: "ws-user-alice", client_id: "app1", server_url: server.url, manifest: { type: "conda-python" } });
});

afterAll(async () => {
  await connection?.close();
  await Promise.allSettled(clients.map((c) => c.disconnect()));
  await server?.stop();
  await rm(tmp, { recursive: true, force: true });
});

it("re-registers after the server restarts; the session is untouched", async () => {
  await server.restart();
  await expect.poll(async () => getWorker().then(() => true, () => false), { timeout: 15_000, interval: 250 }).toBe(true);
  const svc = await getWorker();
  const info = (await (svc.get_session_info as Fn)("ws-user-alice/app1")) as { status: string };
  expect(info.status).toBe("running");
});

it("builds a fresh connection when hypha-rpc gives up for good", async () => {
  const before = connection.rebuilds;
  const rpc = (connection.connection as unknown as { rpc: { _connection: { disconnect(reason?: string): void } } }).rpc;
  rpc._connection.disconnect("simulated: server refused the reconnection");
  await expect.poll(() => connection.rebuilds, { timeout: 10_000, interval: 100 }).toBe(before + 1);
  const svc = await getWorker();
  expect(((await (svc.list_sessions as Fn)("ws-user-alice")) as unknown[]).length).toBe(1);
  expect(worker.get_load()).toBe(1);
});
