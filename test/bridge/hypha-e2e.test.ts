/**
 * End to end through the Hypha test server: the app (python3, no hypha-rpc installed) serves through the
 * bridge as its own Hypha client, and another hypha-rpc client calls it.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connectToHypha, type HyphaServer } from "../../src/hypha/connect.js";
import type { AppIdentity, ServiceMode } from "../../src/bridge/types.js";
import { startHyphaTestServer, type HyphaTestServer } from "../support/hypha-server.js";
import { localIdentity, resultText, startApp, type RunningApp } from "./helpers.js";

const WS = "ws-user-alice";
let server: HyphaTestServer;
let caller: HyphaServer;
const apps: RunningApp[] = [];
type Fn = (...args: unknown[]) => Promise<unknown>;
type Service = Record<string, Fn>;

const CONNECT = `{"server_url": os.environ["HYPHA_SERVER_URL"], "workspace": os.environ["HYPHA_WORKSPACE"], "client_id": os.environ["HYPHA_CLIENT_ID"], "token": os.environ["HYPHA_TOKEN"], "method_timeout": 30}`;

const ASYNC_APP = `
import asyncio, os
from hypha_rpc import connect_to_server

async def aadd(a, b):
    await asyncio.sleep(0.01)
    return a + b

def fail():
    raise KeyError("no such thing")

async def use_other(sid, a, b):
    helper = await server.get_service(sid)
    product = await helper.multiply(a, b)
    greeting = await helper.greet(name="py")
    return [product, greeting]

def apply(f, x):
    return f(x)

async def main():
    global server
    server = await connect_to_server(${CONNECT})
    await server.register_service({"id": "default", "config": {"visibility": "public"},
        "add": lambda a, b: a + b, "aadd": aadd, "echo": lambda x: x, "fail": fail, "use_other": use_other, "apply": apply,
        "slow": lambda: __import__("time").sleep(10)})
    await server.serve()

asyncio.run(main())
`;

function appIdentity(clientId: string): AppIdentity {
  return localIdentity({ serverUrl: server.url, workspace: WS, clientId, appId: "e2e", token: server.issueToken({ workspace: WS, clientId, userId: "alice" }) });
}

const hyphaMode: ServiceMode = {
  kind: "hypha",
  connect: (id) => connectToHypha({ server_url: id.serverUrl, workspace: id.workspace, client_id: id.clientId, token: id.token, method_timeout: 30 }),
};

async function startServing(source: string, clientId: string): Promise<{ app: RunningApp; svc: Service }> {
  const app = startApp(source, { identity: appIdentity(clientId), mode: hyphaMode });
  apps.push(app);
  await app.host.waitForService("default", 15_000);
  const svc = (await caller.getService(`${WS}/${clientId}:default`)) as unknown as Service;
  return { app, svc };
}

beforeAll(async () => {
  server = await startHyphaTestServer();
  caller = await connectToHypha({ server_url: server.url, workspace: WS, token: server.issueToken({ workspace: WS, userId: "alice" }), method_timeout: 30 });
});
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.stop()));
});
afterAll(async () => {
  await caller.disconnect().catch(() => undefined);
  await server.stop();
});

describe("bridge through Hypha", () => {
  it("serves sync, async, bytes, callbacks, errors and 100 concurrent calls to a Hypha client", async () => {
    const { app, svc } = await startServing(ASYNC_APP, "app-async");
    expect(await svc.add!(1, 2)).toBe(3);
    expect(await svc.aadd!(40, 2)).toBe(42);
    expect(await svc.add!({ a: 5, b: 6, _rkwargs: true })).toBe(11); // keyword call, as the Python server makes
    const mb = new Uint8Array(1024 * 1024).map((_, i) => i % 251);
    const back = (await svc.echo!(mb)) as Uint8Array;
    expect(Buffer.compare(Buffer.from(back), Buffer.from(mb))).toBe(0);
    expect(await svc.apply!((x: number) => x * 3, 7)).toBe(21);
    const error = (await svc.fail!().catch((e: unknown) => e)) as Error;
    expect(String(error)).toContain("KeyError");
    expect(String(error)).toContain("no such thing");
    expect(error.message + (error.stack ?? "")).toMatch(/Traceback[\s\S]*main\.py", line \d+, in fail/);
    const many = await Promise.all(Array.from({ length: 100 }, (_, i) => svc.aadd!(i, 1)));
    expect(many).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(app.host.appConnected).toBe(true);
    // The app's main thread is busy in its own event loop here, so execute() runs on the runner's thread.
    const interrupted = await app.host.execute("n = 0\nwhile True:\n    n += 1", 300);
    expect(interrupted.error?.evalue).toMatch(/interrupted after its timeout/);
    expect(resultText(await app.host.execute("n > 0", 5000))).toBe("True");
    expect(await svc.add!(1, 1)).toBe(2);
  });

  it("lets the app call another Hypha service through get_service, keyword arguments included", async () => {
    const helper = await connectToHypha({ server_url: server.url, workspace: WS, client_id: "js-helper", token: server.issueToken({ workspace: WS, userId: "alice" }), method_timeout: 30 });
    try {
      await helper.registerService({ id: "helper", config: { visibility: "public" }, multiply: (a: number, b: number) => a * b, greet: (name: string) => `hello ${name}` });
      const { svc } = await startServing(ASYNC_APP, "app-other");
      expect(await svc.use_other!(`${WS}/js-helper:helper`, 6, 7)).toEqual([42, "hello py"]);
      // The sync style: plain blocking calls on the proxy, from a sync service function.
      const sync = await startServing(`
import os
from hypha_rpc.sync import connect_to_server, get_remote_service
server = connect_to_server(${CONNECT})
def remote_multiply(uri, a, b):
    return get_remote_service(uri).multiply(a, b)
def via_server(sid):
    return server.get_service(sid).greet("sync")
server.register_service({"id": "default", "config": {"visibility": "public"}, "remote_multiply": remote_multiply, "via_server": via_server})
`, "app-other-sync");
      expect(await sync.svc.remote_multiply!(`${server.url}/${WS}/services/js-helper:helper`, 3, 5)).toBe(15);
      expect(await sync.svc.via_server!(`${WS}/js-helper:helper`)).toBe("hello sync");
    } finally {
      await helper.disconnect();
    }
  });

  it("serves an app written against hypha_rpc.sync, and execute() keeps state and times out cleanly", async () => {
    const { app, svc } = await startServing(`
import os
from hypha_rpc.sync import connect_to_server
server = connect_to_server(${CONNECT})
state = {"calls": 0}
def count():
    state["calls"] += 1
    return state["calls"]
server.register_service({"id": "default", "config": {"visibility": "public"}, "count": count})
`, "app-sync");
    expect(await svc.count!()).toBe(1);
    expect(resultText(await app.host.execute("state['calls'] += 10\nstate['calls']", 5000))).toBe("11");
    expect(await svc.count!()).toBe(12);
    const timedOut = await app.host.execute("while True:\n    pass", 300);
    expect(timedOut.error?.ename).toBe("TimeoutError");
    expect(await svc.count!()).toBe(13);
  });

  it("publishes schema_function schemas (hypha_rpc.utils.schema) with the service", async () => {
    const { svc } = await startServing(`
import os
from hypha_rpc.sync import connect_to_server
from hypha_rpc.utils.schema import schema_function

@schema_function
def scale(x: float, factor: int = 2) -> float:
    """Multiplies x by factor."""
    return x * factor

server = connect_to_server(${CONNECT})
server.register_service({"id": "default", "config": {"visibility": "public"}, "scale": scale})
`, "app-schema");
    expect(await svc.scale!(1.5)).toBe(3);
    const schema = (svc.scale as unknown as { __schema__?: Record<string, unknown> }).__schema__;
    expect(schema).toMatchObject({
      name: "scale",
      description: "Multiplies x by factor.",
      parameters: { type: "object", properties: { x: { type: "number" }, factor: { type: "integer", default: 2 } }, required: ["x"] },
    });
  });

  it("removes the app's services from Hypha when the host closes, failing in-flight calls", async () => {
    const { app, svc } = await startServing(ASYNC_APP, "app-close");
    const inFlight = svc.slow!().catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await app.host.close("session stopped");
    const ids = (await caller.listServices({})).map((s) => String(s.id));
    expect(ids).not.toContain(`${WS}/app-close:default`);
    expect(String(await inFlight)).toMatch(/app stopped before answering|closed|disconnected/i);
    await expect(caller.getService(`${WS}/app-close:default`)).rejects.toThrow();
  });

  it("removes the app's services when the app exits", async () => {
    const { app } = await startServing(`
import os, threading
from hypha_rpc.sync import connect_to_server
server = connect_to_server(${CONNECT})
server.register_service({"id": "default", "config": {"visibility": "public"}, "quit": lambda: threading.Timer(0.05, os._exit, [0]).start()})
`, "app-exit");
    const svc = (await caller.getService(`${WS}/app-exit:default`)) as unknown as Service;
    await svc.quit!();
    expect(await app.exited).toBe(0);
    await app.host.close("the app exited"); // what the session does when its process ends
    await expect(caller.getService(`${WS}/app-exit:default`)).rejects.toThrow();
  });

  it("serves the fixtures/apps/service app (written like an upstream Hypha app) to another client", async () => {
    const source = readFileSync(fileURLToPath(new URL("../../fixtures/apps/service/main.py", import.meta.url)), "utf8");
    const { app, svc } = await startServing(source, "app-fixture");
    expect(await svc.add!(2, 3)).toBe(5);
    expect(await svc.echo!({ x: [1, 2] })).toEqual({ x: [1, 2] });
    expect(await svc.apply!((v: string) => `${v}!`, "hi")).toBe("hi!");
    expect(await svc.add_async!(1, 2)).toBe(3);
    await expect(svc.fail!()).rejects.toThrow(/ValueError/);
    expect(app.stdout()).not.toContain("Traceback");
  });
});
