/** App lifecycles through the runner: completed, crashed, stopped, sync-style serving, config checks, real hypha_rpc. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Duplex, PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { createBridgeHost } from "../../src/bridge/host.js";
import { createWire } from "../../src/bridge/wire.js";
import { eventually, localIdentity, startApp, type RunningApp } from "./helpers.js";

const apps: RunningApp[] = [];
const run = (source: string, options: Parameters<typeof startApp>[1] = {}) => {
  const app = startApp(source, options);
  apps.push(app);
  return app;
};
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.stop()));
});

const CONNECT = `{"server_url": os.environ["HYPHA_SERVER_URL"], "workspace": os.environ["HYPHA_WORKSPACE"], "client_id": os.environ["HYPHA_CLIENT_ID"], "token": os.environ["HYPHA_TOKEN"]}`;

describe("runner lifecycle", () => {
  it("exits 0 when the entry point returns without connecting (session completed)", async () => {
    const app = run(`print("just a script")\n`);
    await app.host.mainDone;
    expect(app.host.appConnected).toBe(false);
    expect(await app.exited).toBe(0);
    expect(app.stdout()).toBe("just a script\n");
    await expect(app.host.waitForService("default", 5000)).rejects.toThrow(/stopped before registering service "default"/);
  });

  it("exits 1 with the traceback on stderr when the entry point raises", async () => {
    const app = run(`def fail():\n    raise RuntimeError("broken app")\nfail()\n`);
    expect(await app.exited).toBe(1);
    expect(app.stderr()).toContain("Traceback (most recent call last)");
    expect(app.stderr()).toContain("RuntimeError: broken app");
    await expect(app.host.mainDone).rejects.toThrow(/ended before its entry point returned/);
  });

  it("passes sys.exit codes through", async () => {
    const app = run(`import sys\nsys.exit(3)\n`);
    expect(await app.exited).toBe(3);
  });

  it("serves an app written against hypha_rpc.sync and stops cleanly on SIGTERM", async () => {
    const app = run(`
import os
from hypha_rpc.sync import connect_to_server
server = connect_to_server(${CONNECT.slice(0, -1)}, "method_timeout": 30})
server.register_service({"id": "default", "config": {"visibility": "public"}, "add": lambda a, b: a + b})
print("serving", flush=True)
server.serve()
`);
    await app.host.waitForService("default", 10_000);
    expect(await app.host.callService("default", "add", [20, 22])).toBe(42);
    app.child.kill("SIGTERM");
    expect(await app.exited).toBe(0);
  });

  it("runs an entry point with top-level await (as upstream's notebook-cell execution allows) and keeps its loop alive", async () => {
    const app = run(`
import asyncio, os
from hypha_rpc import connect_to_server
server = await connect_to_server(${CONNECT})
ticks = {"n": 0}
async def tick():
    while True:
        ticks["n"] += 1
        await asyncio.sleep(0.01)
background = asyncio.get_event_loop().create_task(tick())
async def count_after(seconds):
    before = ticks["n"]
    await asyncio.sleep(seconds)
    return ticks["n"] - before
await server.register_service({"id": "default", "config": {"visibility": "public"}, "count_after": count_after})
`);
    await app.host.waitForService("default", 10_000);
    await app.host.mainDone;
    // The task created at module level still runs after the entry point returned.
    expect(await app.host.callService("default", "count_after", [0.2])).toBeGreaterThan(3);
  });

  it("keeps serving an entry point that returned while its own client's tasks are pending on its loop (no bridge), until SIGTERM", async () => {
    // As with the real hypha_rpc's async client: its connection lives in tasks of the app's loop.
    const app = run(`
import asyncio
async def connection():
    n = 0
    while True:
        n += 1
        print("tick", n, flush=True)
        await asyncio.sleep(0.02)
client = asyncio.ensure_future(connection())
await asyncio.sleep(0)
`);
    await app.host.mainDone;
    await eventually(() => /tick 5\n/.test(app.stdout()), "ticks after the entry point returned");
    expect(app.child.exitCode).toBeNull();
    app.child.kill("SIGTERM");
    expect(await app.exited).toBe(0);
  });

  it("ends with exit 0 once its own client's tasks are done (the client disconnected), after the entry point returned", async () => {
    const app = run(`
import asyncio
async def connection():
    for n in range(1, 6):
        print("tick", n, flush=True)
        await asyncio.sleep(0.02)
client = asyncio.ensure_future(connection())
await asyncio.sleep(0)
`);
    await app.host.mainDone;
    expect(await app.exited).toBe(0);
    expect(app.stdout()).toContain("tick 5\n");
  });

  it("completes a top-level-await script that never connects", async () => {
    const app = run(`import asyncio\nawait asyncio.sleep(0.01)\nprint("awaited")\n`);
    expect(await app.exited).toBe(0);
    expect(app.stdout()).toBe("awaited\n");
  });

  it("offers hypha-rpc's camelCase aliases and item access on sync and async server objects", async () => {
    const app = run(`
import asyncio, os
from hypha_rpc.sync import connect_to_server
server = connect_to_server(${CONNECT})
server.registerService({"id": "default", "config": {"visibility": "public"}, "one": lambda: 1})
server["register_service"]({"id": "second", "two": lambda: 2})
async def more():
    import hypha_rpc
    aserver = await hypha_rpc.connect_to_server(${CONNECT})
    await aserver.registerService({"id": "third", "three": lambda: 3})
asyncio.run(more())
`);
    await app.host.waitForService("third", 10_000);
    expect(await app.host.callService("default", "one", [])).toBe(1);
    expect(await app.host.callService("second", "two", [])).toBe(2);
    expect(await app.host.callService("third", "three", [])).toBe(3);
  });

  it("fails in-flight calls cleanly when the bridge closes", async () => {
    const app = run(`
import os, time
from hypha_rpc.sync import connect_to_server
server = connect_to_server(${CONNECT})
server.register_service({"id": "default", "block": lambda s: time.sleep(s) or "done"})
`);
    await app.host.waitForService("default", 10_000);
    const inFlight = [1, 2, 3].map(() => app.host.callService("default", "block", [10]));
    await app.host.close("session stopped by test");
    for (const call of inFlight) await expect(call).rejects.toThrow(/app stopped before answering \(session stopped by test\)/);
    await expect(app.host.callService("default", "block", [0])).rejects.toThrow(/no service|no longer running/);
    expect(await app.exited).not.toBeNull();
  });

  it("fails the in-flight calls when the app crashes mid-call", async () => {
    const app = run(`
import os
from hypha_rpc.sync import connect_to_server
server = connect_to_server(${CONNECT})
server.register_service({"id": "default", "die": lambda: os._exit(9)})
`);
    await app.host.waitForService("default", 10_000);
    await expect(app.host.callService("default", "die", [])).rejects.toThrow(/app stopped before answering/);
    expect(await app.exited).toBe(9);
  });

  it("fails a call clearly when a result is too large for a message, or a callback misses method_timeout", async () => {
    const app = run(`
import os
from hypha_rpc.sync import connect_to_server
server = connect_to_server(${CONNECT.slice(0, -1)}, "method_timeout": 0.3})
server.register_service({"id": "default", "huge": lambda: "x" * (65 << 20), "wait": lambda f: f(), "ok": lambda: "fine"})
`);
    await app.host.waitForService("default", 10_000);
    await expect(app.host.callService("default", "huge", [])).rejects.toThrow(/too large; pass large data as bytes/);
    await expect(app.host.callService("default", "wait", [() => new Promise(() => {})])).rejects.toThrow(/no answer within method_timeout=0.3s/);
    expect(await app.host.callService("default", "ok", [])).toBe("fine");
  });

  it("refuses a connect config that names another workspace, without leaking the token", async () => {
    const app = run(`
from hypha_rpc.sync import connect_to_server
connect_to_server({"workspace": "someone-else", "token": "wrong-token-value"})
`);
    expect(await app.exited).toBe(1);
    expect(app.stderr()).toMatch(/workspace 'someone-else' does not match this app's session/);
    const tokenApp = run(`
from hypha_rpc.sync import connect_to_server
connect_to_server({"token": "wrong-" + "token-value"})
`);
    expect(await tokenApp.exited).toBe(1);
    expect(tokenApp.stderr()).toMatch(/token \(hidden\) does not match/);
    expect(tokenApp.stderr()).not.toContain("wrong-token-value");
  });

  it("lets a real hypha_rpc in the env win over the bridge's", async () => {
    const app = run(`import hypha_rpc\nprint(hypha_rpc.WHO)\n`, { env: {} });
    const site = join(app.dir, "site");
    await app.exited;
    mkdirSync(join(site, "hypha_rpc"), { recursive: true });
    writeFileSync(join(site, "hypha_rpc", "__init__.py"), `WHO = "real"\n`);
    const withReal = run(`import hypha_rpc\nprint(hypha_rpc.WHO)\n`, { env: { PYTHONPATH: site } });
    expect(await withReal.exited).toBe(0);
    expect(withReal.stdout()).toBe("real\n");
    expect(app.stderr()).toContain("AttributeError");
  });
});

describe("handshake", () => {
  function fakeRunner() {
    const toHost = new PassThrough();
    const toRunner = new PassThrough();
    const hostSide = Duplex.from({ readable: toHost, writable: toRunner });
    const runnerSide = Duplex.from({ readable: toRunner, writable: toHost });
    for (const end of [hostSide, runnerSide]) end.on("error", () => {});
    const logs: string[] = [];
    const host = createBridgeHost({ channel: hostSide, identity: localIdentity(), mode: { kind: "local" }, log: (_t, line) => logs.push(line) });
    return { host, runnerSide, logs };
  }

  it("rejects a runner that speaks another protocol version", async () => {
    const { host, runnerSide } = fakeRunner();
    const replies: string[] = [];
    createWire(runnerSide, { onMessage: (m) => replies.push(String(m.t)), onClose: () => {} }).send({ t: "hello", protocol: 99 });
    await expect(host.ready).rejects.toThrow(/protocol 99.*reinstall/);
    expect(replies).toEqual(["reject"]);
    await host.close("done");
  });

  it("fails the session, not the worker, when the runner writes garbage", async () => {
    const { host, runnerSide, logs } = fakeRunner();
    runnerSide.write(Buffer.from("this is not a frame at all"));
    await expect(host.ready).rejects.toThrow(/handshake/);
    expect(logs.join("\n")).toMatch(/exceeds the limit/);
    await expect(host.execute("1", 1000)).rejects.toThrow(/no longer running/);
  });

  it("answers a malformed request with an error for that call only", async () => {
    const { host, runnerSide } = fakeRunner();
    const replies: Array<Record<string, unknown>> = [];
    const runner = createWire(runnerSide, { onMessage: (m) => replies.push(m), onClose: () => {} });
    runner.send({ t: "hello", protocol: 1 });
    await host.ready;
    runner.send({ t: "frobnicate", id: 1 });
    runner.send({ t: "call", id: 2, fn: "h999", args: [] });
    runner.send({ t: "connect", id: 3, v: {} });
    while (replies.length < 4) await new Promise((r) => setTimeout(r, 5));
    expect(replies[0]!.t).toBe("welcome");
    expect(replies.slice(1).map((r) => [r.id, r.t])).toEqual([[1, "err"], [2, "err"], [3, "ok"]]);
    expect(JSON.stringify(replies[1])).toMatch(/unknown bridge request/);
    await host.close("done");
  });
});
