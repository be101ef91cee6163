/** The bridge host in local mode against the real runner on python3: calls, values, callbacks, errors, execute. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, resultText, startApp, type RunningApp } from "./helpers.js";

const APP = `
import asyncio, os, time
from hypha_rpc import connect_to_server

counter = {"n": 0}
server = None

def add(a, b):
    return a + b

async def slow_echo(x, delay=0.0):
    await asyncio.sleep(delay)
    return x

def apply(f, x):
    return f(x)

async def apply_async(f, x):
    return await f(x)

def give_back(f):
    return f

def make_multiplier(k):
    return lambda x: x * k

def boom():
    raise ValueError("bad value 42")

def whoami(greeting, context=None):
    return {"greeting": greeting, "context": context}

def kinds(x):
    return [type(x).__name__, x, (1, "a", b"z")]

def get_count():
    return counter["n"]

def block(seconds):
    time.sleep(seconds)
    return "done"

async def call_remote(sid):
    return await server.get_service(sid)

async def main():
    global server
    server = await connect_to_server({"server_url": os.environ["HYPHA_SERVER_URL"], "workspace": os.environ["HYPHA_WORKSPACE"],
                                      "client_id": os.environ["HYPHA_CLIENT_ID"], "token": os.environ["HYPHA_TOKEN"]})
    info = await server.register_service({"id": "default", "name": "Kitchen sink", "config": {"visibility": "public"},
        "add": add, "slow_echo": slow_echo, "apply": apply, "apply_async": apply_async, "make_multiplier": make_multiplier, "give_back": give_back,
        "boom": boom, "kinds": kinds, "get_count": get_count, "block": block, "call_remote": call_remote,
        "nested": {"double": lambda x: 2 * x}})
    await server.register_service({"id": "ctx", "config": {"require_context": True}, "whoami": whoami})
    await server.register_service({"id": "ctx2", "config": {"require_context": ["whoami"]}, "whoami": whoami, "plain": lambda a: a})
    print("registered", info["id"], server.config.workspace)

asyncio.run(main())
`;

type Fn = (...args: unknown[]) => Promise<unknown>;
let app: RunningApp;
const call = (method: string, ...args: unknown[]) => app.host.callService("default", method, args);

beforeAll(async () => {
  app = startApp(APP);
  await app.host.ready;
  await app.host.waitForService("ctx2", 10_000);
});
afterAll(async () => {
  await app.stop();
});

describe("bridge host, local mode", () => {
  it("registers the app's services under its full id and keeps serving after main returns", async () => {
    await app.host.mainDone;
    expect(app.host.appConnected).toBe(true);
    expect(app.host.registeredServices().sort()).toEqual(["ctx", "ctx2", "default"]);
    await eventually(() => app.stdout().includes("registered"), "the app's print");
    expect(app.stdout()).toContain("registered ws-test/app-client:default ws-test");
    expect(app.child.exitCode).toBeNull();
  });

  it("calls sync, async and nested functions", async () => {
    expect(await call("add", 2, 3)).toBe(5);
    expect(await call("slow_echo", { a: [1, "x", null] }, 0.01)).toEqual({ a: [1, "x", null] });
    expect(await call("nested.double", 21)).toBe(42);
  });

  it("echoes 1 MB of bytes unchanged", async () => {
    const data = new Uint8Array(1024 * 1024).map((_, i) => (i * 7) % 256);
    const back = (await call("slow_echo", data)) as Uint8Array;
    expect(back).toBeInstanceOf(Uint8Array);
    expect(Buffer.compare(Buffer.from(back), Buffer.from(data))).toBe(0);
  });

  it("passes callbacks both ways", async () => {
    expect(await call("apply", (x: number) => x + 1, 4)).toBe(5);
    expect(await call("apply_async", async (x: number) => x * 10, 4)).toBe(40);
    const triple = (await call("make_multiplier", 3)) as Fn;
    expect(typeof triple).toBe("function");
    expect(await triple(5)).toBe(15);
    // Each side gets its own functions back as the originals, not as proxies of proxies.
    const mine = (x: number) => x - 1;
    expect(await call("give_back", mine)).toBe(mine);
    expect(await call("apply", triple, 6)).toBe(18);
  });

  it("gives the caller the Python exception's type, message and traceback", async () => {
    const error = (await call("boom").catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("ValueError");
    expect(error.message).toBe("bad value 42");
    expect(error.stack).toContain("Traceback (most recent call last)");
    expect(error.stack).toMatch(/main\.py", line \d+, in boom/);
    expect(error.stack).not.toContain("hypha_bridge");
  });

  it("serves 100 concurrent calls", async () => {
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => call("slow_echo", i, 0.05)));
    expect(results).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it("hands the caller context to require_context functions as the context keyword", async () => {
    const result = await app.host.callService("ctx", "whoami", ["hi", { ws: "ws-caller", user: { id: "u1" } }]);
    expect(result).toEqual({ greeting: "hi", context: { ws: "ws-caller", user: { id: "u1" } } });
    // require_context as a list applies to the listed functions only.
    expect(await app.host.callService("ctx2", "plain", [7])).toBe(7);
    expect(await app.host.callService("ctx2", "whoami", ["yo", { ws: "w2" }])).toEqual({ greeting: "yo", context: { ws: "w2" } });
  });

  it("round-trips value kinds: tuples become lists, bytes nested, non-finite floats, ndarray without numpy", async () => {
    expect(await call("kinds", [1, 2])).toEqual(["list", [1, 2], [1, "a", Buffer.from("z")]]);
    expect(await call("slow_echo", [Number.NaN, Infinity, -Infinity])).toEqual([Number.NaN, Infinity, -Infinity]);
    const nd = { _rtype: "ndarray", _rvalue: new Uint8Array([1, 2, 3, 4]), _rshape: [2, 2], _rdtype: "uint8" };
    expect(await call("slow_echo", nd)).toEqual({ ...nd, _rvalue: Buffer.from([1, 2, 3, 4]) });
    expect(await call("slow_echo", { __b: "not a tag" })).toEqual({ __b: "not a tag" });
  });

  it("makes get_service fail clearly in local mode", async () => {
    await expect(call("call_remote", "ws/other:default")).rejects.toThrow(/no Hypha server in local mode/);
  });

  it("executes code in the app's namespace, keeping state and capturing output", async () => {
    const first = await app.host.execute("y = 5\ncounter['n'] = 99\nprint('hello')\ny * 2", 5000);
    expect(first).toEqual({
      status: "ok",
      outputs: [{ type: "stream", name: "stdout", text: "hello\n" }, { type: "execute_result", data: { "text/plain": "10" }, metadata: {}, execution_count: 2 }],
    });
    expect(await call("get_count")).toBe(99);
    const second = await app.host.execute("import sys\nprint('oops', file=sys.stderr)\ny + 1", 5000);
    expect(second.outputs).toEqual([{ type: "stream", name: "stderr", text: "oops\n" }, { type: "execute_result", data: { "text/plain": "6" }, metadata: {}, execution_count: 3 }]);
    const failed = await app.host.execute("1 / 0", 5000);
    expect(failed.status).toBe("error");
    expect(failed.error?.ename).toBe("ZeroDivisionError");
    expect(failed.error?.traceback.join("")).toContain("<execute>");
    const noResult = await app.host.execute("z = 1", 5000);
    expect(noResult).toEqual({ status: "ok", outputs: [] });
  });

  it("interrupts an execution that exceeds its timeout without stopping the app", async () => {
    const result = await app.host.execute("x = 0\nwhile True:\n    x += 1", 300);
    expect(result.status).toBe("error");
    expect(result.error?.ename).toBe("TimeoutError");
    expect(await call("add", 1, 1)).toBe(2);
    expect(resultText(await app.host.execute("y", 5000))).toBe("5");
    expect(app.child.exitCode).toBeNull();
  });

  it("interrupts a blocking call (time.sleep) at the timeout, even under `except Exception`", async () => {
    const result = await app.host.execute("import time\ntry:\n    time.sleep(60)\nexcept Exception:\n    pass\n'not reached'", 300);
    expect(result.status).toBe("error");
    // The runner's own answer (the worker's fallback after the grace would say "cannot be interrupted").
    expect(result.error?.evalue).toMatch(/interrupted after its timeout/);
    expect(resultText(await app.host.execute("1 + 1", 5000))).toBe("2");
  });

  it("keeps the app alive when executed code calls sys.exit()", async () => {
    const result = await app.host.execute("import sys\nsys.exit(4)", 5000);
    expect(result.error?.ename).toBe("SystemExit");
    expect(await call("add", 2, 2)).toBe(4);
  });

  it("rejects bad execute input and unknown services with clear errors", async () => {
    await expect(app.host.execute("1", -1)).rejects.toThrow(/positive number/);
    await expect(app.host.callService("nope", "x", [])).rejects.toThrow(/no service "nope"/);
    await expect(call("missing")).rejects.toThrow(/no function "missing"/);
  });

  it("never logs the app's token", () => {
    expect(JSON.stringify(app.logs)).not.toContain("tok-secret-123456");
  });
});
