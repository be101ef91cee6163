/**
 * The worker service on the Hypha test server, with a scripted session: every method called the way the
 * Python server calls (kwargs on the wire from the `public`/root client), positionally by a user's
 * client, and refused across workspaces (including a spoofed `context` keyword).
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectToHypha, type HyphaServer } from "../../src/hypha/connect.js";
import { registerWorkerService, type RegisteredWorkerService } from "../../src/hypha/service.js";
import { CondaWorker } from "../../src/worker/conda-worker.js";
import { connectInternalClient, startHyphaTestServer, type HyphaTestServer } from "../support/hypha-server.js";
import { fakeSessionFactory, inertEnvManager } from "../support/fake-worker-session.js";

type Fn = (...args: unknown[]) => Promise<unknown>;
const kw = (kwargs: Record<string, unknown>) => ({ ...kwargs, _rkwargs: true });

let server: HyphaTestServer;
let workerClient: HyphaServer;
let internal: HyphaServer;
let alice: HyphaServer;
let mallory: HyphaServer;
let registered: RegisteredWorkerService;
let tmp: string;
const factory = fakeSessionFactory((config) => ({ outcome: config.app_id === "failing" ? "fail" : "serve", progress: ["validating", "resolving", "launching"] }));
const ALICE_CTX = { ws: "ws-user-alice", user: { id: "alice" }, from: "ws-user-alice/browser" };

function startConfig(clientId: string, appId = "hello"): Record<string, unknown> {
  return {
    id: `ws-user-alice/${clientId}`, app_id: appId, workspace: "ws-user-alice", client_id: clientId, server_url: server.url,
    token: "app-token-abcdef", timeout: 5, manifest: { type: "conda-python", entry_point: "main.py", _rtype: "pydantic-model" },
  };
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "hcw-service-"));
  server = await startHyphaTestServer();
  workerClient = await connectToHypha({ server_url: server.url, workspace: "ws-ops", client_id: "conda-worker-host", token: server.issueToken({ workspace: "ws-ops", userId: "operator" }) });
  const worker = new CondaWorker({ env: inertEnvManager(tmp), workingDir: path.join(tmp, "work"), createSession: factory, workerWorkspace: "ws-ops" });
  registered = await registerWorkerService(workerClient, worker, { serviceId: "conda-worker", visibility: "public" });
  internal = await connectInternalClient(server);
  alice = await connectToHypha({ server_url: server.url, client_id: "browser", token: server.issueToken({ workspace: "ws-user-alice", userId: "alice" }) });
  mallory = await connectToHypha({ server_url: server.url, client_id: "cli", token: server.issueToken({ workspace: "ws-user-mallory", userId: "mallory" }) });
});

afterAll(async () => {
  await Promise.allSettled([internal?.disconnect(), alice?.disconnect(), mallory?.disconnect()]);
  await registered?.unregister().catch(() => undefined);
  await workerClient?.disconnect();
  await server?.stop();
  await rm(tmp, { recursive: true, force: true });
});

describe("registration", () => {
  it("is a public server-app-worker with top-level supported_types", async () => {
    expect(registered.id).toBe("ws-ops/conda-worker-host:conda-worker");
    const svc = await internal.getService(registered.id);
    expect(svc.type).toBe("server-app-worker");
    expect(svc.supported_types).toEqual(["conda-python", "python-conda", "conda-jupyter-kernel"]);
    expect(typeof svc.name).toBe("string");
  });
});

describe("the Python server's kwargs convention, every method", () => {
  it("start → get_session_info → list_sessions → get_logs → execute → stop → stop again", async () => {
    const svc = await internal.getService(registered.id);
    const progress: string[] = [];
    const config = { ...startConfig("_rapp_kw1"), progress_callback: (info: { message: string }) => { progress.push(info.message); } };
    expect(await (svc.start as Fn)(config, kw({ context: ALICE_CTX }))).toBe("ws-user-alice/_rapp_kw1");
    const info = (await (svc.get_session_info as Fn)("ws-user-alice/_rapp_kw1", kw({ context: ALICE_CTX }))) as Record<string, unknown>;
    expect(info).toMatchObject({ session_id: "ws-user-alice/_rapp_kw1", status: "running", workspace: "ws-user-alice", app_id: "hello" });
    expect(info.metadata).not.toHaveProperty("_rtype");
    const listed = (await (svc.list_sessions as Fn)(kw({ workspace: "ws-user-alice", context: ALICE_CTX }))) as Array<{ session_id: string }>;
    expect(listed.map((s) => s.session_id)).toContain("ws-user-alice/_rapp_kw1");
    expect(await (svc.get_logs as Fn)("ws-user-alice/_rapp_kw1", kw({ type: "progress", offset: 1, limit: 1, context: ALICE_CTX }))).toEqual({ items: [{ type: "progress", content: "resolving" }], total: 3, offset: 1, limit: 1 });
    expect(await (svc.get_logs as Fn)("ws-user-alice/_rapp_kw1", kw({ context: ALICE_CTX }))).toMatchObject({ items: expect.arrayContaining([{ type: "stdout", content: "hello from hello" }]), log: expect.arrayContaining(["hello from hello"]), error: [] });
    const executed = (await (svc.execute as Fn)("ws-user-alice/_rapp_kw1", kw({ script: "print(1)", config: { timeout: 2 }, context: ALICE_CTX }))) as { status: string };
    expect(executed.status).toBe("ok");
    expect(factory.created.at(-1)!.executed).toEqual([{ code: "print(1)", timeoutMs: 2000 }]);
    await (svc.stop as Fn)("ws-user-alice/_rapp_kw1", kw({ context: ALICE_CTX }));
    await (svc.stop as Fn)("ws-user-alice/_rapp_kw1", kw({ context: ALICE_CTX }));
    expect(factory.created.at(-1)!.stopCalls).toBe(1);
    expect(await (svc.list_sessions as Fn)("ws-user-alice", kw({ context: ALICE_CTX }))).toEqual([]);
    await expect.poll(() => progress).toEqual(["validating", "resolving", "launching"]);
  });

  it("prepare_workspace, close_workspace, compile, get_load", async () => {
    const svc = await internal.getService(registered.id);
    await (svc.prepare_workspace as Fn)(kw({ workspace: "ws-user-alice", context: ALICE_CTX }));
    expect((await stat(path.join(tmp, "work", "ws-user-alice"))).isDirectory()).toBe(true);
    await (svc.start as Fn)(startConfig("_rapp_kw2"), kw({ context: ALICE_CTX }));
    expect(await (svc.get_load as Fn)(kw({ context: ALICE_CTX }))).toBe(1);
    await (svc.close_workspace as Fn)("ws-user-alice", kw({ context: ALICE_CTX }));
    expect(await (svc.get_load as Fn)()).toBe(0);
    const manifest = { type: "conda-python", name: "A", entry_point: "main.py", dependencies: ["python=3.11"], _rtype: "pydantic-model" };
    const files = [{ path: "main.py", content: "print('hi')", format: "text" }];
    const [outManifest, outFiles] = (await (svc.compile as Fn)(manifest, files, kw({ config: {}, context: ALICE_CTX }))) as [Record<string, unknown>, unknown[]];
    expect(outManifest).not.toHaveProperty("_rtype");
    expect(outFiles).toHaveLength(1);
  });

  it("a failing app: start raises with the error, the session stays readable until stopped", async () => {
    const svc = await internal.getService(registered.id);
    await expect((svc.start as Fn)(startConfig("_rapp_fail", "failing"), kw({ context: ALICE_CTX }))).rejects.toThrow(/RuntimeError: boom/);
    const info = (await (svc.get_session_info as Fn)("ws-user-alice/_rapp_fail", kw({ context: ALICE_CTX }))) as { status: string; error: string };
    expect(info.status).toBe("failed");
    expect(info.error).toMatch(/Traceback/);
    await (svc.stop as Fn)("ws-user-alice/_rapp_fail", kw({ context: ALICE_CTX }));
  });

  it("a duplicate session id is refused", async () => {
    const svc = await internal.getService(registered.id);
    await (svc.start as Fn)(startConfig("_rapp_dup"), kw({ context: ALICE_CTX }));
    const error = await (svc.start as Fn)(startConfig("_rapp_dup"), kw({ context: ALICE_CTX })).then(() => undefined, (e: unknown) => e as Error);
    expect(String(error?.message)).toMatch(/already exists/);
    // The remote trace is the message alone: no worker source paths reach the caller.
    expect(String(error?.message)).not.toMatch(/\.ts:\d+|\.js:\d+|node_modules|at async /);
    await (svc.stop as Fn)("ws-user-alice/_rapp_dup", kw({ context: ALICE_CTX }));
  });
});

describe("positional calls from a user's own client", () => {
  it("work within the caller's workspace", async () => {
    const svc = await alice.getService(registered.id);
    expect(await (svc.start as Fn)(startConfig("_rapp_pos"))).toBe("ws-user-alice/_rapp_pos");
    expect(await (svc.get_logs as Fn)("ws-user-alice/_rapp_pos", "stdout", 0, 5)).toEqual({ items: [{ type: "stdout", content: "hello from hello" }], total: 1, offset: 0, limit: 5 });
    expect(((await (svc.list_sessions as Fn)("ws-user-alice")) as unknown[]).length).toBe(1);
    await (svc.stop as Fn)("ws-user-alice/_rapp_pos");
  });
});

describe("cross-workspace calls are refused for every method", () => {
  const target = "ws-user-alice/_rapp_victim";
  beforeAll(async () => {
    const svc = await alice.getService(registered.id);
    await (svc.start as Fn)(startConfig("_rapp_victim"));
  });
  afterAll(async () => {
    const svc = await alice.getService(registered.id);
    await (svc.stop as Fn)(target);
  });

  const attempts: Array<[string, (svc: Record<string, unknown>) => Promise<unknown>]> = [
    ["start", (s) => (s.start as Fn)(startConfig("_rapp_evil"))],
    ["stop", (s) => (s.stop as Fn)(target)],
    ["list_sessions", (s) => (s.list_sessions as Fn)("ws-user-alice")],
    ["get_session_info", (s) => (s.get_session_info as Fn)(target)],
    ["get_logs", (s) => (s.get_logs as Fn)(target)],
    ["execute", (s) => (s.execute as Fn)(target, "print(1)")],
    ["prepare_workspace", (s) => (s.prepare_workspace as Fn)("ws-user-alice")],
    ["close_workspace", (s) => (s.close_workspace as Fn)("ws-user-alice")],
    ["shutdown", (s) => (s.shutdown as Fn)()],
    // A spoofed context keyword from a non-root client is ignored.
    ["stop with a spoofed context", (s) => (s.stop as Fn)(target, kw({ context: ALICE_CTX }))],
    ["get_logs with a spoofed context", (s) => (s.get_logs as Fn)(target, kw({ context: ALICE_CTX }))],
  ];

  it.each(attempts)("%s", async (_name, attempt) => {
    const svc = await mallory.getService(registered.id);
    await expect(attempt(svc)).rejects.toThrow(/Permission denied/);
    const info = (await ((await alice.getService(registered.id)).get_session_info as Fn)(target)) as { status: string };
    expect(info.status).toBe("running");
  });

  it("the refusal does not reveal whether a session exists", async () => {
    const svc = await mallory.getService(registered.id);
    const existing = await (svc.get_logs as Fn)(target).catch((e: Error) => e.message);
    const missing = await (svc.get_logs as Fn)("ws-user-alice/_rapp_nonexistent").catch((e: Error) => e.message);
    const firstLine = (text: unknown, id: string) => String(text).split("\n")[0]!.replaceAll(id, "X");
    expect(firstLine(existing, target)).toBe(firstLine(missing, "ws-user-alice/_rapp_nonexistent"));
  });

  it("the server acting for mallory (context keyword from root) is refused too", async () => {
    const svc = await internal.getService(registered.id);
    const ctx = { ws: "ws-user-mallory", user: { id: "mallory" } };
    await expect((svc.stop as Fn)(target, kw({ context: ctx }))).rejects.toThrow(/Permission denied/);
    await expect((svc.start as Fn)(startConfig("_rapp_evil2"), kw({ context: ctx }))).rejects.toThrow(/Permission denied/);
  });
});

describe("shutdown, the Python-server way (last: it ends the worker)", () => {
  it("a user's context keyword cannot shut the worker down; the server itself can, and new starts are refused", async () => {
    const svc = await internal.getService(registered.id);
    await (svc.start as Fn)(startConfig("_rapp_last"), kw({ context: ALICE_CTX }));
    await expect((svc.shutdown as Fn)(kw({ context: ALICE_CTX }))).rejects.toThrow(/Permission denied/);
    await (svc.shutdown as Fn)(kw({}));
    expect(factory.created.at(-1)!.stopCalls).toBe(1);
    await expect((svc.start as Fn)(startConfig("_rapp_after"), kw({ context: ALICE_CTX }))).rejects.toThrow(/shutting down/);
  });
});
