/**
 * The worker end to end: the Hypha test server and its app-manager stand-in (calls with kwargs from the
 * `public`/root client), the real CondaWorker, Session, env manager and bridge, the fake micromamba over
 * the fixture channel, and the fixture apps.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { createEnvManager } from "../../src/env/env-manager.js";
import type { EnvManager } from "../../src/env/types.js";
import { connectToHypha, type HyphaServer } from "../../src/hypha/connect.js";
import { registerWorkerService, type RegisteredWorkerService } from "../../src/hypha/service.js";
import { registerSecret } from "../../src/redact.js";
import { CondaWorker } from "../../src/worker/conda-worker.js";
import { AppManagerStandIn, logContents } from "../support/app-manager.js";
import { startHyphaTestServer, type HyphaTestServer } from "../support/hypha-server.js";
import { makeTempRoot, type TempRoot } from "../support/session-doubles.js";

const APPS = path.resolve("fixtures/apps");
const FAKE_MICROMAMBA = path.resolve("test/support/fake-pm/bin/micromamba");
const CHANNEL = `file://${path.resolve("fixtures/channel")}`;
const WHEELS = path.resolve("fixtures/wheels");
const ALICE = { workspace: "ws-user-alice", user: "alice" };

let server: HyphaTestServer;
let manager: AppManagerStandIn;
let workerClient: HyphaServer;
let registered: RegisteredWorkerService;
let worker: CondaWorker;
let cache: TempRoot;
let work: TempRoot;
let workerToken: string;
const savedToken = process.env.HYPHA_TOKEN;

function envManager(): EnvManager {
  return createEnvManager(
    { cacheDir: cache.dir, packageManager: FAKE_MICROMAMBA, bootstrap: false, channelMap: { "conda-forge": CHANNEL }, defaultChannels: ["conda-forge"], allowPipOptions: false, createTimeoutMs: 120_000 },
    { env: { PATH: process.env.PATH, HOME: cache.dir, PIP_NO_INDEX: "1", PIP_FIND_LINKS: WHEELS } },
  );
}

function fixture(app: string, overrides: Record<string, unknown> = {}, extraFiles: Record<string, string> = {}) {
  const manifest = YAML.parse(readFileSync(path.join(APPS, app, "manifest.yaml"), "utf8")) as Record<string, unknown>;
  return { manifest: { ...manifest, ...overrides }, files: { "main.py": readFileSync(path.join(APPS, app, "main.py"), "utf8"), ...extraFiles } };
}

const inMemory = (id: string, main: string, manifest: Record<string, unknown> = {}) => ({
  manifest: { type: "conda-python", id, name: id, version: "0.1.0", entry_point: "main.py", channels: ["conda-forge"], dependencies: ["python"], ...manifest },
  files: { "main.py": main },
});

beforeAll(async () => {
  cache = makeTempRoot("hcw-e2e-cache-");
  work = makeTempRoot("hcw-e2e-work-");
  server = await startHyphaTestServer();
  workerToken = server.issueToken({ workspace: "public", userId: "operator", clientId: "conda-worker-e2e" });
  // The worker's own token sits in its environment, as with `serve`; it must never reach an app.
  process.env.HYPHA_TOKEN = workerToken;
  registerSecret(workerToken);
  workerClient = await connectToHypha({ server_url: server.url, workspace: "public", client_id: "conda-worker-e2e", token: workerToken });
  worker = new CondaWorker({ env: envManager(), workingDir: work.dir, stopGraceMs: 2_000 });
  registered = await registerWorkerService(workerClient, worker, { serviceId: "conda-worker", visibility: "public" });
  manager = await AppManagerStandIn.create(server);
}, 60_000);

afterAll(async () => {
  await worker?.shutdown().catch(() => undefined);
  await manager?.close();
  await registered?.unregister().catch(() => undefined);
  await workerClient?.disconnect();
  await server?.stop();
  if (savedToken === undefined) delete process.env.HYPHA_TOKEN;
  else process.env.HYPHA_TOKEN = savedToken;
  cache?.cleanup();
  work?.cleanup();
});

describe("through the app-manager stand-in", () => {
  it("install (compile + verification start/stop) → start → logs → stop → the second stop", async () => {
    await manager.install(fixture("hello", { startup_config: { wait_for_service: false } }), { ...ALICE, timeout: 60 });
    expect(manager.calls.map((c) => c.method)).toEqual(expect.arrayContaining(["compile", "start", "stop"]));
    const session = await manager.start("hello", { ...ALICE, timeout: 60 });
    expect(session.start_result).toBe(session.id);
    await expect.poll(async () => logContents(await manager.getLogs(session.id, { type: "stdout" })).join("\n"), { timeout: 15_000 }).toMatch(/Hello from hypha-conda-worker!/);
    const both = (await manager.getLogs(session.id)) as { log: string[]; error: string[] };
    expect(both.log.join("\n")).toContain("app hello in workspace ws-user-alice");
    expect(logContents(both)).toContain("app hello in workspace ws-user-alice");
    const phases = (session.progress as Array<{ phase?: string }>).map((p) => p.phase);
    const order = ["validating", "resolving", "launching", "running"].map((phase) => phases.indexOf(phase as never));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    await manager.stop(session.id);
    await manager.settle();
    expect(manager.backgroundErrors).toEqual([]);
    expect(worker.sessionIds()).not.toContain(session.id);
  }, 90_000);

  it("an app that registers `default`: start returns once it is registered, the service answers, execute runs code", async () => {
    const main = [
      "import os",
      "from hypha_rpc.sync import connect_to_server",
      "server = connect_to_server({'client_id': os.environ['HYPHA_CLIENT_ID'], 'server_url': os.environ['HYPHA_SERVER_URL'],",
      "    'workspace': os.environ['HYPHA_WORKSPACE'], 'token': os.environ['HYPHA_TOKEN']})",
      "server.register_service({'id': 'default', 'config': {'visibility': 'public'}, 'add': lambda a, b: a + b})",
      "print('registered', flush=True)",
    ].join("\n");
    await manager.install(inMemory("adder", main), { ...ALICE, verify: false });
    const session = await manager.start("adder", { ...ALICE, timeout: 60 });
    const client = await connectToHypha({ server_url: server.url, token: server.issueToken({ workspace: "ws-user-alice", userId: "alice" }) });
    try {
      const svc = await client.getService(`${session.id}:default`);
      expect(await (svc.add as (a: number, b: number) => Promise<number>)(2, 3)).toBe(5);
    } finally {
      await client.disconnect();
    }
    const context = manager.contextFor(ALICE);
    const result = (await manager.callWithKwargs(registered.id, "execute", [session.id], { script: "print(40 + 2)", config: { timeout: 10 }, context })) as {
      status: string;
      outputs: Array<{ text: string }>;
    };
    expect(result.status).toBe("ok");
    expect(result.outputs.map((o) => o.text).join("")).toContain("42");
    await manager.stop(session.id);
    await manager.settle();
  }, 90_000);
});

describe("session outcomes, called the Python-server way", () => {
  const call = (method: string, positional: unknown[], kwargs: Record<string, unknown>) => manager.callWithKwargs(registered.id, method, positional, kwargs);
  const context = () => manager.contextFor(ALICE);
  let n = 0;
  async function configFor(appId: string, source: { manifest: Record<string, unknown>; files: Record<string, string> }) {
    await manager.install(source, { ...ALICE, appId, verify: false, compile: false });
    n += 1;
    const clientId = `_rapp_e2e-${n}`;
    return {
      id: `ws-user-alice/${clientId}`, app_id: appId, workspace: "ws-user-alice", client_id: clientId, server_url: server.url,
      app_files_base_url: `${server.url}/ws-user-alice/artifacts/${appId}/files`,
      token: server.issueToken({ workspace: "ws-user-alice", clientId, userId: "alice" }),
      entry_point: "main.py", timeout: 30, manifest: { ...source.manifest, _rtype: "pydantic-model" },
    };
  }

  it("failing: start fails with the traceback; logs keep it until stop", async () => {
    const config = await configFor("failing", fixture("failing"));
    await expect(call("start", [config], { context: context() })).rejects.toThrow(/RuntimeError: failing fixture/);
    const info = (await call("get_session_info", [config.id], { context: context() })) as { status: string; error: string };
    expect(info.status).toBe("failed");
    const stderr = logContents(await call("get_logs", [config.id], { type: "stderr", offset: 0, limit: null, context: context() }));
    expect(stderr.join("\n")).toMatch(/Traceback/);
    await call("stop", [config.id], { context: context() });
    await call("stop", [config.id], { context: context() });
  }, 90_000);

  it("counter runs until stopped; stop ends it", async () => {
    const config = await configFor("counter", fixture("counter", { startup_config: { wait_for_service: false } }));
    expect(await call("start", [config], { context: context() })).toBe(config.id);
    await expect.poll(async () => logContents(await call("get_logs", [config.id], { type: "stdout", context: context() })).length, { timeout: 15_000 }).toBeGreaterThan(2);
    expect(((await call("get_session_info", [config.id], { context: context() })) as { status: string }).status).toBe("running");
    await call("stop", [config.id], { context: context() });
    await expect(call("get_session_info", [config.id], { context: context() })).rejects.toThrow(/not found/);
  }, 90_000);

  it("the worker's token is not in the app's environment, logs or progress", async () => {
    const digest = createHash("sha256").update(workerToken).digest("hex");
    const main = [
      "import hashlib, os",
      `leaked = [k for k, v in os.environ.items() if hashlib.sha256(v.encode()).hexdigest() == '${digest}']`,
      "print('LEAKED' if leaked else 'CLEAN', sorted(leaked), flush=True)",
      "print('HAS_APP_TOKEN', bool(os.environ.get('HYPHA_TOKEN')), flush=True)",
    ].join("\n");
    const config = await configFor("envcheck", inMemory("envcheck", main, { startup_config: { wait_for_service: false } }));
    const progress: unknown[] = [];
    await call("start", [{ ...config, progress_callback: (m: unknown) => void progress.push(m) }], { context: context() });
    await expect.poll(async () => logContents(await call("get_logs", [config.id], { type: "stdout", context: context() })).join("\n"), { timeout: 15_000 }).toMatch(/CLEAN|LEAKED/);
    const logs = JSON.stringify(await call("get_logs", [config.id], { context: context() }));
    expect(logs).toContain("CLEAN");
    expect(logs).toContain("HAS_APP_TOKEN True");
    expect(logs).not.toContain(workerToken);
    expect(JSON.stringify(progress)).not.toContain(workerToken);
    await call("stop", [config.id], { context: context() });
  }, 90_000);

  it.each([["../x"], ["/etc/passwd"], ["data/../../escape.txt:ok.txt"], ["main.py:../../escape.txt"]])("files_to_stage %s is refused and nothing is written outside", async (entry) => {
    const config = await configFor(`stage-${n}`, inMemory("stager", "print('should not run')", { files_to_stage: [entry] }));
    await expect(call("start", [config], { context: context() })).rejects.toThrow(/files_to_stage|outside|escape|absolute|\.\./i);
    const info = (await call("get_session_info", [config.id], { context: context() })) as { status: string };
    expect(info.status).toBe("failed");
    expect(existsSync(path.join(work.dir, "x"))).toBe(false);
    expect(existsSync(path.join(path.dirname(work.dir), "escape.txt"))).toBe(false);
    await call("stop", [config.id], { context: context() });
  }, 60_000);
});

describe("two workers on one cache", () => {
  it("both start the same app; the env is built once", async () => {
    const second = new CondaWorker({ env: envManager(), workingDir: work.dir, stopGraceMs: 2_000 });
    const source = inMemory("twin", "print('twin ok')", { dependencies: ["python", "tinylib"], startup_config: { wait_for_service: false } });
    await manager.install(source, { ...ALICE, appId: "twin", verify: false, compile: false });
    const configFor = (clientId: string) => ({
      id: `ws-user-alice/${clientId}`, app_id: "twin", workspace: "ws-user-alice", client_id: clientId, server_url: server.url,
      app_files_base_url: `${server.url}/ws-user-alice/artifacts/twin/files`, token: server.issueToken({ workspace: "ws-user-alice", clientId, userId: "alice" }),
      entry_point: "main.py", timeout: 30, manifest: source.manifest,
    });
    try {
      await Promise.all([worker.start(configFor("_rapp_twin-a")), second.start(configFor("_rapp_twin-b"))]);
      const a = await worker.get_session_info("ws-user-alice/_rapp_twin-a");
      const b = await second.get_session_info("ws-user-alice/_rapp_twin-b");
      expect(a.metadata.env_hash).toBe(b.metadata.env_hash);
      expect([a.metadata.env_status, b.metadata.env_status].sort()).toEqual(["cached", "created"]);
    } finally {
      await worker.stop("ws-user-alice/_rapp_twin-a");
      await second.shutdown();
    }
  }, 120_000);
});
