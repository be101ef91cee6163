/**
 * The server object the bridge's connect_to_server returns (async and hypha_rpc.sync): the workspace
 * manager's methods forwarded generically (arguments, keywords, results, errors, callbacks, bytes),
 * events, register_probes, the registered id, hypha_rpc's module names and the unknown-name errors.
 * Apps run on the machine's python3 (no hypha-rpc installed) against the Hypha test server.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connectToHypha, type HyphaServer } from "../../src/hypha/connect.js";
import type { AppIdentity, ServiceMode } from "../../src/bridge/types.js";
import { startHyphaTestServer, type HyphaTestServer } from "../support/hypha-server.js";
import { localIdentity, startApp, type RunningApp } from "./helpers.js";

const WS = "ws-user-erin";
let server: HyphaTestServer;
let caller: HyphaServer;
const apps: RunningApp[] = [];
type Fn = (...args: unknown[]) => Promise<unknown>;
type Service = Record<string, Fn>;

const CONNECT = `{"server_url": os.environ["HYPHA_SERVER_URL"], "workspace": os.environ["HYPHA_WORKSPACE"], "client_id": os.environ["HYPHA_CLIENT_ID"], "token": os.environ["HYPHA_TOKEN"]}`;

const hyphaMode: ServiceMode = {
  kind: "hypha",
  connect: (id) => connectToHypha({ server_url: id.serverUrl, workspace: id.workspace, client_id: id.clientId, token: id.token, method_timeout: 30 }),
};

function identity(clientId: string): AppIdentity {
  return localIdentity({ serverUrl: server.url, workspace: WS, clientId, appId: "api", token: server.issueToken({ workspace: WS, clientId, userId: "erin" }) });
}

async function serve(source: string, clientId: string, mode: ServiceMode = hyphaMode): Promise<{ app: RunningApp; svc: Service }> {
  const app = startApp(source, { identity: identity(clientId), mode });
  apps.push(app);
  try {
    await app.host.waitForService("default", 15_000);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n--- app stderr ---\n${app.stderr()}`);
  }
  if (mode.kind === "local") return { app, svc: {} };
  return { app, svc: (await caller.getService(`${WS}/${clientId}:default`)) as unknown as Service };
}

beforeAll(async () => {
  server = await startHyphaTestServer();
  caller = await connectToHypha({ server_url: server.url, workspace: WS, client_id: "erin-desk", token: server.issueToken({ workspace: WS, userId: "erin" }), method_timeout: 30 });
});
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.stop()));
});
afterAll(async () => {
  await caller.disconnect().catch(() => undefined);
  await server.stop();
});

// One app per API style; each function exercises one part of the server object.
const asyncApp = (importLine: string) => `
import asyncio, os
${importLine}

events = []

async def call(name, args, kwargs):
    return await getattr(server, name)(*args, **kwargs)

async def error_of(name, args):
    try:
        await getattr(server, name)(*args)
    except Exception as exc:
        return [type(exc).__name__, str(exc)]

async def function_round_trip(key):
    # A manager method passed as a value travels as the manager's own function, and still works.
    returned = await server.echo({"fn": server.get_env})
    return await returned["fn"](key)

def missing(name):
    try:
        getattr(server, name)
    except AttributeError as exc:
        return str(exc)

async def listen(event):
    async def handler(message):  # coroutine handlers run on the app's loop
        await asyncio.sleep(0)
        events.append(message["data"])

    server.on(event, handler)
    return await server.subscribe(event)

def seen():
    return events

registered = {}

async def main():
    global server
    server = await connect_to_server(${CONNECT})
    info = await server.register_service({"id": "default", "config": {"visibility": "public"}, "call": call, "error_of": error_of,
        "function_round_trip": function_round_trip, "missing": missing, "listen": listen, "seen": seen,
        "names": lambda: sorted(dir(server)), "info_id": lambda: registered.get("id")})
    registered["id"] = info.id  # the service is callable on the server before register_service returns here
    probes = await server.register_probes({"readiness": lambda: "ok"})
    print("probes at", probes["id"], flush=True)
    await server.serve()

asyncio.run(main())
`;

const syncApp = `
import os
from hypha_rpc.sync import connect_to_server

events = []

def call(name, args, kwargs):
    return getattr(server, name)(*args, **kwargs)

def listen(event):
    server.on(event, lambda message: events.append(message["data"]))
    return server.subscribe(event)

def seen():
    return events

def emit_local(value):
    server.once("local-only", lambda message: events.append(message["value"]))
    server.emit({"type": "local-only", "value": value})
    server.emit({"type": "local-only", "value": value + 1})

server = connect_to_server(${CONNECT})
registered = {}
info = server.register_service({"id": "default", "config": {"visibility": "public"}, "call": call, "listen": listen,
    "seen": seen, "emit_local": emit_local, "info_id": lambda: registered.get("id")})
registered["id"] = info.id  # the service is callable on the server before register_service returns here
server.serve()
`;

describe("workspace manager methods through the async server object", () => {
  it("forwards arguments, keywords, results, bytes, function values and errors generically", async () => {
    const { svc } = await serve(asyncApp("from hypha_rpc import connect_to_server"), "api-async");
    expect(await svc.call!("echo", [{ data: new Uint8Array([7, 8, 9]), n: [1, 2] }], {})).toEqual({ data: new Uint8Array([7, 8, 9]), n: [1, 2] });
    await svc.call!("set_env", ["REGION"], { value: "eu-1" });
    expect(await svc.call!("get_env", [], { key: "REGION" })).toBe("eu-1");
    expect(await svc.call!("check_status", [], {})).toEqual({ status: "ready", errors: null, user_permission: "a" });
    expect(await svc.call!("get_workspace_info", [], {})).toMatchObject({ id: WS, type: "workspace" });
    const clients = (await svc.call!("list_clients", [], {})) as Array<{ id: string }>;
    expect(clients.map((c) => c.id)).toEqual(expect.arrayContaining([`${WS}/api-async`, `${WS}/erin-desk`]));
    const token = (await svc.call!("generate_token", [{ client_id: "api-helper" }], {})) as string;
    expect(((await svc.call!("parse_token", [token], {})) as { scope: { client_id: string } }).scope.client_id).toBe("api-helper");
    expect(await svc.function_round_trip!("REGION")).toBe("eu-1");
    const [type, message] = (await svc.error_of!("get_env", ["MISSING"])) as [string, string];
    expect(type).toBe("RemoteException");
    expect(message).toMatch(/Environment variable 'MISSING' not found in workspace ws-user-erin/);
  });

  it("carries the registered id, registers probes, lists the manager's names and refuses unknown ones with the way out", async () => {
    const { svc } = await serve(asyncApp("from hypha_rpc import connect_to_server"), "api-names");
    await expect.poll(() => svc.info_id!(), { timeout: 5000 }).toBe(`${WS}/api-names:default`);
    // The app registers its probes without awaiting them before it serves: the registry may see them a moment later.
    await expect.poll(() => server.router.registry.get(`${WS}/api-names:probes`), { timeout: 5000 }).toMatchObject({ type: "probes", name: "Probes", config: { visibility: "public" } });
    const names = (await svc.names!()) as string[];
    for (const name of ["generate_token", "get_workspace_info", "list_clients", "echo", "log", "get_env", "set_env", "check_status", "subscribe", "unsubscribe", "on", "off", "emit", "register_probes", "register_service"]) {
      expect(names).toContain(name);
    }
    const text = (await svc.missing!("launch_rockets")) as string;
    expect(text).toMatch(/'AsyncServer' object has no attribute 'launch_rockets'/);
    expect(text).toMatch(/generate_token/);
    expect(text).toMatch(/list it in the app's pip dependencies/);
    // camelCase names reach the same methods, as hypha-rpc's JS-style aliases do.
    expect(await svc.missing!("getWorkspaceInfo")).toBeNull();
  });

  it("delivers subscribed events to the app's handlers, from other clients and from its own emit", async () => {
    const { svc } = await serve(asyncApp("from hypha_rpc import connect_to_server"), "api-events");
    expect(await svc.listen!("build-finished")).toBe(true);
    await (caller.emit as Fn)({ type: "build-finished", to: "*", data: { build: 1 } });
    await svc.call!("emit", [{ type: "build-finished", to: "*", data: { build: 2 } }], {});
    await expect.poll(() => svc.seen!(), { timeout: 10_000 }).toEqual([{ build: 1 }, { build: 2 }]);
    await svc.call!("unsubscribe", ["build-finished"], {});
    await (caller.emit as Fn)({ type: "build-finished", to: "*", data: { build: 3 } });
    await svc.call!("echo", ["after the third event"], {});
    expect(await svc.seen!()).toEqual([{ build: 1 }, { build: 2 }]);
  });
});

describe("the blocking server object (hypha_rpc.sync)", () => {
  it("forwards manager methods, takes events, fires local emits once, and carries the registered id", async () => {
    const { svc } = await serve(syncApp, "api-sync");
    await expect.poll(() => svc.info_id!(), { timeout: 5000 }).toBe(`${WS}/api-sync:default`);
    expect(await svc.call!("echo", [], { data: { b: new Uint8Array([1]) } })).toEqual({ b: new Uint8Array([1]) });
    await svc.call!("log", ["from the sync app"], {});
    expect(((await (caller.getEvents as Fn)("log")) as Array<{ data: string }>).map((e) => e.data)).toContain("from the sync app");
    expect(await svc.listen!("nightly")).toBe(true);
    await (caller.emit as Fn)({ type: "nightly", to: "*", data: "ran" });
    await expect.poll(() => svc.seen!(), { timeout: 10_000 }).toEqual(["ran"]);
    await svc.emit_local!(10);
    await expect.poll(() => svc.seen!(), { timeout: 10_000 }).toEqual(["ran", 10]);
  });

  it("listens again after disconnect and a new connect_to_server", async () => {
    const source = `
import os
from hypha_rpc.sync import connect_to_server
server = connect_to_server(${CONNECT})
server.on("again", lambda m: None)
server.subscribe("again")
server.disconnect()
server = connect_to_server(${CONNECT})
got = []
server.on("again", lambda m: got.append(m["data"]))
server.subscribe("again")
server.register_service({"id": "default", "config": {"visibility": "public"}, "seen": lambda: got})
server.emit({"type": "again", "to": "*", "data": "after reconnect"})
server.serve()
`;
    const { svc } = await serve(source, "api-reconnect");
    await expect.poll(() => svc.seen!(), { timeout: 10_000 }).toEqual(["after reconnect"]);
  });
});

describe("hypha_rpc.api.export, as upstream's exported apps use it", () => {
  it("registers the exported object as service default, without and with a running event loop", async () => {
    const plain = `
from hypha_rpc import api

class Calculator:
    def __init__(self):
        self.factor = 3
    def scale(self, x):
        return x * self.factor

api.export(Calculator)
`;
    const { svc: calculator } = await serve(plain, "api-export");
    expect(await calculator.scale!(5)).toBe(15);
    const inLoop = `
import asyncio
from hypha_rpc import api

async def main():
    api.export({"hello": lambda name: "hello " + name}, {"visibility": "public"})
    await asyncio.Event().wait()

asyncio.run(main())
`;
    const { svc: greeter } = await serve(inLoop, "api-export-loop");
    expect(await greeter.hello!("erin")).toBe("hello erin");
    expect(server.router.registry.get(`${WS}/api-export-loop:default`)?.config.visibility).toBe("public");
  });
});

describe("hypha_rpc module names", () => {
  it("imports what apps commonly import, and names a missing attribute with the pip way out", async () => {
    const source = `
import os
from hypha_rpc import connect_to_server, login, RPC, api, ObjectProxy, RemoteException, get_remote_service, connect_to_server_sync
from hypha_rpc.rpc import RemoteService, RemoteException as RpcRemoteException
from hypha_rpc.utils import ObjectProxy as UtilsProxy, schema_function, DefaultObjectProxy, parse_service_url
from hypha_rpc.utils.schema import schema_method
import hypha_rpc

errors = []
try:
    from hypha_rpc import register_codec_everywhere
except ImportError as exc:
    errors.append(str(exc))
try:
    hypha_rpc.utils.not_a_util
except AttributeError as exc:
    errors.append(str(exc))
errors.append(hasattr(hypha_rpc, "nothing_here"))
proxy = UtilsProxy(items=[1, 2], name="x")
errors.append([proxy.items, proxy.name, RemoteException is RpcRemoteException, isinstance(proxy, dict)])
errors.append(parse_service_url("https://hypha.example/ws-a/services/c1:svc@app"))

@schema_function
def area(width: float, height: float = 1.0):
    """Area of a rectangle."""
    return width * height

errors.append(area.__schema__["name"])
server = connect_to_server_sync(${CONNECT})
server.register_service({"id": "default", "report": lambda: errors})
server.serve()
`;
    const { app } = await serve(source, "api-modules", { kind: "local" });
    const report = (await app.host.callService("default", "report", [])) as unknown[];
    expect(report[0]).toMatch(/module 'hypha_rpc' of the hypha-conda-worker bridge has no attribute 'register_codec_everywhere'/);
    expect(report[0]).toMatch(/pip dependencies/);
    expect(report[1]).toMatch(/module 'hypha_rpc.utils' of the hypha-conda-worker bridge has no attribute 'not_a_util'/);
    expect(report[2]).toBe(false);
    expect(report[3]).toEqual([[1, 2], "x", true, true]);
    expect(report[4]).toEqual(["https://hypha.example", "ws-a", "c1", "svc", "app"]);
    expect(report[5]).toBe("area");
  });

  it("in local mode (no server) on/emit without a target still reach the app's handlers, and manager methods say why they are missing", async () => {
    const source = `
import os
from hypha_rpc.sync import connect_to_server
server = connect_to_server(${CONNECT})
got = []
server.on("tick", lambda m: got.append(m["n"]))
server.emit({"type": "tick", "n": 1})
def report():
    try:
        server.generate_token()
    except AttributeError as exc:
        return [list(got), str(exc)]
server.register_service({"id": "default", "report": report})
server.serve()
`;
    const { app } = await serve(source, "api-local", { kind: "local" });
    await expect.poll(async () => ((await app.host.callService("default", "report", [])) as [number[], string])[0], { timeout: 10_000 }).toEqual([1]);
    const [, text] = (await app.host.callService("default", "report", [])) as [number[], string];
    expect(text).toMatch(/'SyncServer' object has no attribute 'generate_token'/);
  });
});
