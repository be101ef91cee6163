/**
 * Tests of the app-manager stand-in against reference/hypha-server.md: the kwargs calling convention
 * (and the hazard it triggers in hypha-rpc 0.21.40), the start config, waiting for `default`, the
 * second stop on disconnect, worker discovery, compile + verification at install, and app files HTTP.
 */
import { mkdtemp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connectToHypha, type HyphaServer } from "../../src/hypha/connect.js";
import { AppManagerStandIn } from "./app-manager.js";
import { startTinyWorker, type TinyWorker, type TinyWorkerOptions } from "./app-manager/tiny-worker.js";
import { startHyphaTestServer, type HyphaTestServer } from "./hypha-server.js";

let server: HyphaTestServer;
let manager: AppManagerStandIn;
const workers: TinyWorker[] = [];
const clients: HyphaServer[] = [];
let tempDir: string;

const APP = {
  manifest: { type: "conda-python", name: "Tiny App", id: "tiny-app", entry_point: "main.py", channels: ["conda-forge"], startup_config: { timeout: 20 } },
  files: { "main.py": "print('hello from tiny app')\n", "data/info.txt": "abc" },
};

beforeAll(async () => {
  server = await startHyphaTestServer();
  manager = await AppManagerStandIn.create(server);
  tempDir = await mkdtemp(join(tmpdir(), "app-manager-test-"));
});
afterEach(async () => {
  await manager.settle();
  await Promise.all(clients.splice(0).map((c) => c.disconnect().catch(() => undefined)));
  await Promise.all(workers.splice(0).map((w) => w.close()));
});
afterAll(async () => {
  await manager.close();
  await server.stop();
  await rm(tempDir, { recursive: true, force: true });
});

async function worker(options: TinyWorkerOptions): Promise<TinyWorker> {
  const w = await startTinyWorker(server, options);
  workers.push(w);
  return w;
}

async function waitUntil(check: () => boolean, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("calling convention", () => {
  it("sends kwargs on the wire, so a naive hypha-rpc 0.21.40 start(config, context) gets config undefined", async () => {
    const naive = await worker({ workspace: "ws-user-naive", kwargsAware: false, visibility: "public" });
    const ctx = manager.contextFor({ workspace: "ws-user-naive", user: "naive" });
    const call = manager.callWithKwargs(naive.id, "start", [{ workspace: "ws-user-naive", app_id: "x" }], { context: ctx });
    await expect(call).rejects.toThrow("Cannot read properties of undefined (reading 'workspace')");
    expect(naive.wire[0]).toEqual({ method: "start", withKwargs: true, argCount: 2, kwargKeys: ["context"] });
    const seen = naive.seen[0];
    // hypha-rpc mapped the kwargs dict onto the parameter names minus `context`: config = kwargs.config.
    expect(seen?.args).toEqual([]);
    // ... and appended its own context: the direct caller, the internal client in public as root.
    expect(seen?.rpcContext).toMatchObject({ ws: "public", user: { id: "root" } });
  });

  it("maps kwargs by parameter name and drops every positional: naive get_logs loses session_id, keeps type/offset/limit", async () => {
    const naive = await worker({ workspace: "ws-user-naive2", kwargsAware: false, visibility: "public" });
    const ctx = manager.contextFor({ workspace: "ws-user-naive2" });
    await manager.callWithKwargs(naive.id, "get_logs", ["ws-user-naive2/app"], { type: "stderr", offset: 3, limit: 7, context: ctx });
    // get_logs(session_id, type, offset, limit, context) received (undefined, "stderr", 3, 7, rpcContext).
    expect(naive.seen[0]?.args).toEqual([undefined, "stderr", 3, 7]);
    expect(naive.seen[0]?.rpcContext).toMatchObject({ ws: "public" });
  });

  it("without require_context a naive start(config, context) receives no arguments at all", async () => {
    const naive = await worker({ workspace: "ws-user-naive3", kwargsAware: false, requireContext: false, visibility: "public" });
    const ctx = manager.contextFor({ workspace: "ws-user-naive3" });
    await expect(manager.callWithKwargs(naive.id, "start", [{ app_id: "x" }], { context: ctx })).rejects.toThrow(/reading 'workspace'/);
    expect(naive.seen[0]).toMatchObject({ args: [], rpcContext: undefined });
  });

  it("calls positionally too, as JS clients and older servers do", async () => {
    const w = await worker({ workspace: "ws-user-pos", visibility: "public" });
    await manager.callPositional(w.id, "get_logs", ["ws-user-pos/app", "stdout", 0, 10]);
    expect(w.wire[0]).toMatchObject({ method: "get_logs", withKwargs: false, argCount: 4 });
    expect(w.seen[0]).toMatchObject({ args: ["ws-user-pos/app", "stdout", 0, 10], kwargs: {}, rpcContext: { ws: "public" } });
  });

  it("delivers positionals and the real caller's context to a worker that reads the wire", async () => {
    const aware = await worker({ workspace: "ws-user-aware", visibility: "public" });
    const ctx = manager.contextFor({ workspace: "ws-user-aware", user: "aware-user", callerClientId: "browser" });
    await manager.callWithKwargs(aware.id, "get_logs", ["ws-user-aware/app1"], { type: "stdout", offset: 2, limit: 5, context: ctx });
    expect(aware.seen[0]).toMatchObject({
      method: "get_logs",
      args: ["ws-user-aware/app1"],
      kwargs: { type: "stdout", offset: 2, limit: 5, context: { ws: "ws-user-aware", from: "ws-user-aware/browser", user: { id: "aware-user" } } },
      rpcContext: { ws: "public" },
    });
  });
});

describe("start and stop", () => {
  it("starts with the upstream config, waits for default, and sends stop again when the app disconnects", async () => {
    const w = await worker({ workspace: "ws-user-ann", visibility: "public" });
    await manager.install(APP, { workspace: "ws-user-ann", user: "ann", verify: false });
    const session = await manager.start("tiny-app", { workspace: "ws-user-ann", user: "ann" });
    expect(session.worker_id).toBe(w.id);
    const start = w.seen.find((c) => c.method === "start");
    const config = start?.args[0] as Record<string, unknown>;
    expect(config).toMatchObject({
      id: session.id,
      app_id: "tiny-app",
      workspace: "ws-user-ann",
      client_id: session.client_id,
      server_url: server.url,
      app_files_base_url: `${server.url}/ws-user-ann/artifacts/tiny-app/files`,
      entry_point: "main.py",
      artifact_id: "ws-user-ann/tiny-app",
      timeout: 20,
      disable_ssl: false,
    });
    expect(session.client_id).toMatch(/^_rapp_[a-z]+-[a-z]+-\d{8}__rlb$/);
    expect(typeof config.token).toBe("string");
    expect(typeof config.progress_callback).toBe("function");
    expect(config.manifest).toMatchObject({
      type: "conda-python",
      id: "tiny-app",
      format_version: "0.2.1",
      dependencies: [],
      channels: ["conda-forge"],
      startup_context: { ws: "ws-user-ann", user: { id: "ann" } },
      _rtype: "pydantic-model",
    });
    expect(String((config.manifest as Record<string, unknown>).source_hash)).toMatch(/^Qm/);
    expect(start?.kwargs.context).toMatchObject({ ws: "ws-user-ann", user: { id: "ann" } });
    expect(session.progress).toEqual([
      { type: "info", message: "tiny worker starting tiny-app" },
      { type: "success", message: "tiny worker started" },
    ]);
    expect(w.fetchedEntryPoints.get(session.id)).toBe(APP.files["main.py"]);

    const user = await connectToHypha({ server_url: server.url, token: server.issueToken({ workspace: "ws-user-ann", userId: "ann" }) });
    clients.push(user);
    expect(await ((await user.getService(`${session.id}:default`)).add as (a: number, b: number) => Promise<number>)(1, 2)).toBe(3);

    await manager.stop(session.id);
    await waitUntil(() => w.seen.filter((c) => c.method === "stop").length === 2);
    await manager.settle();
    expect(w.seen.filter((c) => c.method === "stop").map((c) => c.args[0])).toEqual([session.id, session.id]);
    // The stop sent on disconnect carries the app's workspace and the root user (apps.py client_disconnected).
    expect(w.seen.filter((c) => c.method === "stop").map((c) => (c.kwargs.context as { user: { id: string } }).user.id)).toEqual(["ann", "root"]);
    expect(manager.listSessions().map((s) => s.id)).not.toContain(session.id);
  });

  it("fails with 'Application startup timed out' when default never appears, reads the logs and stops the session", async () => {
    const w = await worker({ workspace: "ws-user-slow", app: "never" });
    await manager.install(APP, { workspace: "ws-user-slow", user: "slow", verify: false });
    await expect(manager.start("tiny-app", { workspace: "ws-user-slow", user: "slow", timeout: 0.3 })).rejects.toThrow(
      "Failed to start app 'tiny-app', error: Application startup timed out, logs:",
    );
    expect(w.seen.map((c) => c.method)).toEqual(["start", "get_logs", "stop"]);
    expect(w.seen[1]?.kwargs).toEqual({ context: expect.objectContaining({ ws: "ws-user-slow" }) });
  });

  it("has knobs for a failing progress_callback and an expired app token", async () => {
    await worker({ workspace: "ws-user-knob" });
    await manager.install(APP, { workspace: "ws-user-knob", user: "knob", verify: false });
    // The tiny worker awaits progress_callback, so a throwing one fails its start (a real worker must not).
    await expect(manager.start("tiny-app", { workspace: "ws-user-knob", user: "knob", progress: "throw" })).rejects.toThrow(/progress_callback failed \(test knob\)/);
    await expect(manager.start("tiny-app", { workspace: "ws-user-knob", user: "knob", tokenExpiresInS: -5 })).rejects.toThrow(/expired/);
    const slow = await manager.start("tiny-app", { workspace: "ws-user-knob", user: "knob", progress: { delayMs: 50 } });
    expect(slow.progress).toHaveLength(2);
    await manager.stop(slow.id);
  });

  it("returns at once for wait_for_service false (detached) and forwards get_logs with kwargs", async () => {
    const w = await worker({ workspace: "ws-user-det", app: "never" });
    await manager.install(APP, { workspace: "ws-user-det", user: "det", verify: false });
    const session = await manager.start("tiny-app", { workspace: "ws-user-det", user: "det", wait_for_service: false });
    const logs = await manager.getLogs(session.id, { type: "stdout", offset: 1 });
    expect(logs).toMatchObject({ total: 1, offset: 1 });
    expect(w.seen.find((c) => c.method === "get_logs")?.kwargs).toMatchObject({ type: "stdout", offset: 1, limit: null, context: { ws: "ws-user-det" } });
    await manager.stop(session.id);
  });
});

describe("worker discovery and install", () => {
  it("falls back to a worker in public and refuses a protected worker of the user's workspace", async () => {
    await worker({ workspace: "ws-user-pat", visibility: "protected" });
    await manager.install(APP, { workspace: "ws-user-pat", user: "pat", verify: false, compile: false });
    await expect(manager.start("tiny-app", { workspace: "ws-user-pat", user: "pat" })).rejects.toThrow(/Permission denied.*workspace mismatch: ws-user-pat != public/);
    const publicWorker = await worker({ workspace: "public", visibility: "public" });
    const session = await manager.start("tiny-app", { workspace: "ws-user-pat", user: "pat" });
    expect(session.worker_id).toBe(publicWorker.id);
    await manager.stop(session.id);
    const listed = await manager.listWorkers({ workspace: "ws-user-pat" });
    expect(listed.map((w) => w.id)).toEqual([publicWorker.id]);
  });

  it("selects the least loaded worker with mode select:min:get_load", async () => {
    const heavy = await worker({ workspace: "ws-user-load", load: 5 });
    const light = await worker({ workspace: "ws-user-load", load: 1 });
    await worker({ workspace: "ws-user-load", load: 3 });
    await manager.install(APP, { workspace: "ws-user-load", user: "load", verify: false, compile: false });
    const session = await manager.start("tiny-app", { workspace: "ws-user-load", user: "load", mode: "select:min:get_load" });
    expect(session.worker_id).toBe(light.id);
    await manager.stop(session.id);
    // apps.py's min_load never calls get_load: it reads the server's message rate of `__rlb` clients,
    // and a worker's client is not one, so all score 0 and the first worker wins.
    const byLoad = await manager.start("tiny-app", { workspace: "ws-user-load", user: "load", mode: "min_load" });
    expect(byLoad.worker_id).toBe(heavy.id);
    await manager.stop(byLoad.id);
  });

  it("uses a protected worker that authorizes workspace public", async () => {
    const w = await worker({ workspace: "ws-user-auth", visibility: "protected", authorizedWorkspaces: ["public"] });
    await manager.install(APP, { workspace: "ws-user-auth", user: "auth", verify: false });
    const session = await manager.start("tiny-app", { workspace: "ws-user-auth", user: "auth" });
    expect(session.worker_id).toBe(w.id);
    await manager.stop(session.id);
  });

  it("installs from a directory: compile with files, then a verification start and stop", async () => {
    const dir = join(tempDir, "dir-app");
    await mkdir(join(dir, "sub"), { recursive: true });
    await writeFile(join(dir, "manifest.yaml"), "type: conda-python\nid: dir-app\nname: Dir App\nentry_point: main.py\ndependencies: [python=3.11]\n");
    await writeFile(join(dir, "main.py"), "print('dir app')\n");
    await writeFile(join(dir, "sub", "blob.bin"), Buffer.from([0xff, 0x00, 0xfe]));
    const w = await worker({ workspace: "ws-user-dir", withCompile: true });
    const app = await manager.install(dir, { workspace: "ws-user-dir", user: "dir" });
    expect(w.seen.map((c) => c.method)).toEqual(["compile", "start", "stop"]);
    const compile = w.seen[0];
    expect(compile?.args[0]).toMatchObject({ id: "dir-app", dependencies: ["python=3.11"], _rtype: "pydantic-model" });
    expect(compile?.args[1]).toContainEqual({ path: "main.py", name: "main.py", content: "print('dir app')\n", format: "text" });
    expect(compile?.args[1]).toContainEqual({ path: "sub/blob.bin", name: "sub/blob.bin", content: Buffer.from([0xff, 0x00, 0xfe]).toString("base64"), format: "base64" });
    expect(compile?.kwargs).toHaveProperty("config");
    expect(app.manifest.compiled_by).toBe("tiny-worker");
    expect(app.manifest).not.toHaveProperty("_rtype");
  });
});

describe("app files over HTTP", () => {
  it("serves a fixture app installed from fixtures/apps/<name> byte for byte", async () => {
    const dir = fileURLToPath(new URL("../../fixtures/apps/hello", import.meta.url));
    const app = await manager.install(dir, { workspace: "ws-user-fix", user: "fix", verify: false, compile: false });
    expect(app.app_id).toBe("hello");
    const token = server.issueToken({ workspace: "ws-user-fix" });
    const base = `${server.url}/ws-user-fix/artifacts/hello/files`;
    const listing = (await (await fetch(`${base}/?use_proxy=true`, { headers: { Authorization: `Bearer ${token}` } })).json()) as Array<{ name: string }>;
    expect(listing.map((e) => e.name)).toEqual(expect.arrayContaining(["main.py", "manifest.yaml"]));
    const served = await fetch(`${base}/main.py?use_proxy=true`, { headers: { Authorization: `Bearer ${token}` } });
    expect(Buffer.from(await served.arrayBuffer()).equals(await readFile(join(dir, "main.py")))).toBe(true);
  });

  it("checks the Bearer token, lists folders, serves files and answers 404", async () => {
    await worker({ workspace: "ws-user-files" });
    await manager.install(APP, { workspace: "ws-user-files", user: "files", verify: false });
    const base = `${server.url}/ws-user-files/artifacts/tiny-app/files`;
    const get = (path: string, token?: string) => fetch(`${base}/${path}?use_proxy=true`, token ? { headers: { Authorization: `Bearer ${token}` } } : {});
    const good = server.issueToken({ workspace: "ws-user-files" });
    // hypha: no token = anonymous (403), a token that does not verify = 401, another workspace = 403.
    expect((await get("main.py")).status).toBe(403);
    expect((await get("main.py", server.issueToken({ workspace: "ws-other" }))).status).toBe(403);
    expect((await get("main.py", `${good}x`)).status).toBe(401);
    const file = await get("main.py", good);
    expect(file.status).toBe(200);
    expect(await file.text()).toBe(APP.files["main.py"]);
    // As hypha/utils list_objects_async: files (with last_modified) first, then folders (no size).
    expect(await (await get("", good)).json()).toEqual([
      { name: "main.py", type: "file", size: Buffer.byteLength(APP.files["main.py"]), last_modified: expect.any(Number) },
      { name: "data", type: "directory" },
    ]);
    expect(await (await get("data/", good)).json()).toEqual([{ name: "info.txt", type: "file", size: 3, last_modified: expect.any(Number) }]);
    expect((await get("missing.py", good)).status).toBe(404);
    expect((await get("nope/", good)).status).toBe(404);
    expect((await fetch(`${server.url}/ws-user-files/artifacts/other-app/files/main.py`, { headers: { Authorization: `Bearer ${good}` } })).status).toBe(404);
    expect(manager.fileRequests.some((r) => r.path === "main.py" && r.useProxy && r.status === 200)).toBe(true);
  });
});
