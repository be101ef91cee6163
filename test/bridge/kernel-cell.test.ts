/**
 * The runner's notebook-cell semantics (upstream's conda-jupyter-kernel type) against the real runner on
 * python3: the entry point is the first cell and the process stays alive after it; later cells share its
 * namespace, may use top-level `await` on the kernel's event loop, and answer in upstream's execute shape.
 */
import { afterEach, describe, expect, it } from "vitest";
import { eventually, localIdentity, resultText, startApp, type RunningApp } from "./helpers.js";

const apps: RunningApp[] = [];
const run = (source: string, options: Parameters<typeof startApp>[1] = {}) => {
  const app = startApp(source, { kernel: true, ...options });
  apps.push(app);
  return app;
};
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.stop()));
});

const CELL = `
import asyncio
ticks = {"n": 0}

async def tick_forever():
    while True:
        ticks["n"] += 1
        await asyncio.sleep(0.01)

ticker = asyncio.get_running_loop().create_task(tick_forever())
greeting = await asyncio.sleep(0, result="hello from the first cell")
print(greeting, flush=True)
`;

describe("kernel mode (conda-jupyter-kernel)", () => {
  it("keeps the process, its namespace and the tasks the first cell started after the cell returned", async () => {
    const app = run(CELL);
    await app.host.mainDone;
    expect(app.stdout()).toBe("hello from the first cell\n");
    const before = Number(resultText(await app.host.execute("ticks['n']", 5000)));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const after = Number(resultText(await app.host.execute("ticks['n']", 5000)));
    expect(after).toBeGreaterThan(before);
    expect(resultText(await app.host.execute("greeting", 5000))).toBe("'hello from the first cell'");
    expect(app.child.exitCode).toBeNull();
  });

  it("stays alive after a plain cell that connects to nothing (a script would complete)", async () => {
    const app = run(`total = sum(range(10))\nprint("computed", total)\n`);
    await app.host.mainDone;
    expect(app.host.appConnected).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(app.child.exitCode).toBeNull();
    expect(await app.host.execute("total * 2", 5000)).toEqual({
      status: "ok",
      outputs: [{ type: "execute_result", data: { "text/plain": "90" }, metadata: {}, execution_count: 2 }],
    });
  });

  it("answers in upstream's shape: stream outputs, then the last expression's execute_result; counts every cell", async () => {
    const app = run(`x = 20\n`);
    await app.host.mainDone;
    const result = await app.host.execute("import sys\nprint('to stdout')\nprint('to stderr', file=sys.stderr)\nprint('more stdout')\n{'x': x, 'doubled': x * 2}", 5000);
    expect(result).toEqual({
      status: "ok",
      outputs: [
        { type: "stream", name: "stdout", text: "to stdout\n" },
        { type: "stream", name: "stderr", text: "to stderr\n" },
        { type: "stream", name: "stdout", text: "more stdout\n" },
        { type: "execute_result", data: { "text/plain": "{'x': 20, 'doubled': 40}" }, metadata: {}, execution_count: 2 },
      ],
    });
    const failed = await app.host.execute("print('before the error')\nraise ValueError('Test error')", 5000);
    expect(failed.status).toBe("error");
    expect(failed.outputs).toEqual([{ type: "stream", name: "stdout", text: "before the error\n" }]);
    expect(failed.error?.ename).toBe("ValueError");
    expect(failed.error?.evalue).toBe("Test error");
    expect(failed.error?.traceback.join("")).toMatch(/File "<execute>", line 2[\s\S]*ValueError: Test error/);
    // A failed cell still takes its number, as in IPython.
    expect((await app.host.execute("x", 5000)).outputs).toEqual([{ type: "execute_result", data: { "text/plain": "20" }, metadata: {}, execution_count: 4 }]);
  });

  it("reports no result for None, for a statement, or for a cell ending in ';'", async () => {
    const app = run(`value = 7\n`);
    await app.host.mainDone;
    expect(await app.host.execute("None", 5000)).toEqual({ status: "ok", outputs: [] });
    expect(await app.host.execute("y = value + 1", 5000)).toEqual({ status: "ok", outputs: [] });
    expect(await app.host.execute("value + 1;  # silenced", 5000)).toEqual({ status: "ok", outputs: [] });
    expect(resultText(await app.host.execute("y", 5000))).toBe("8");
  });

  it("runs top-level await in later cells on the kernel's loop and captures what the awaited code prints", async () => {
    const app = run(CELL);
    await app.host.mainDone;
    const result = await app.host.execute(
      "async def shout(word):\n    await asyncio.sleep(0.01)\n    print(word.upper())\n    return len(word)\nawait shout('kernel')",
      5000,
    );
    expect(result.outputs).toEqual([
      { type: "stream", name: "stdout", text: "KERNEL\n" },
      { type: "execute_result", data: { "text/plain": "6" }, metadata: {}, execution_count: 2 },
    ]);
    // The first cell's task runs on the very loop later cells await on.
    expect(resultText(await app.host.execute("await asyncio.sleep(0)\nasyncio.get_running_loop() is ticker.get_loop()", 5000))).toBe("True");
    const failed = await app.host.execute("async def fails():\n    raise KeyError('k')\nawait asyncio.sleep(0)\nawait fails()", 5000);
    expect(failed.error?.ename).toBe("KeyError");
    // The traceback starts in the cell, as a kernel shows it (no runner or concurrent.futures frames).
    expect(failed.error?.traceback).toEqual(["Traceback (most recent call last):\n", '  File "<execute>", line 4, in <module>\n', '  File "<execute>", line 2, in fails\n', "KeyError: 'k'\n"]);
  });

  it("lets a later cell register a service with await on the connection the first cell made", async () => {
    const app = run(`import os\nfrom hypha_rpc import connect_to_server\nserver = await connect_to_server({"server_url": os.environ["HYPHA_SERVER_URL"], "workspace": os.environ["HYPHA_WORKSPACE"], "client_id": os.environ["HYPHA_CLIENT_ID"], "token": os.environ["HYPHA_TOKEN"]})\n`);
    await app.host.mainDone;
    const registered = await app.host.execute("info = await server.register_service({'id': 'later', 'triple': lambda x: 3 * x})\ninfo['id']", 5000);
    expect(resultText(registered)).toMatch(/:later'$/);
    expect(await app.host.callService("later", "triple", [14])).toBe(42);
  });

  it("keeps serving a cell written as upstream's template writes it (hypha_rpc.sync, register, return)", async () => {
    const app = run(`import os\nfrom hypha_rpc.sync import connect_to_server\nserver = connect_to_server({"client_id": os.environ["HYPHA_CLIENT_ID"], "server_url": os.environ["HYPHA_SERVER_URL"], "workspace": os.environ["HYPHA_WORKSPACE"], "method_timeout": 30, "token": os.environ["HYPHA_TOKEN"]})\nserver.register_service({"id": "hello", "config": {"visibility": "public"}, "hello": lambda name: "Hello " + name}, overwrite=True)\nprint("SUCCESS", flush=True)\n`);
    await app.host.waitForService("hello", 10_000);
    await app.host.mainDone;
    expect(await app.host.callService("hello", "hello", ["kernel"])).toBe("Hello kernel");
    expect(resultText(await app.host.execute("server.config.workspace", 5000))).toBe("'ws-test'");
  });

  it("runs a cell that awaits while the first cell still awaits on that cell's loop", async () => {
    const app = run(`import asyncio\nfirst_loop = asyncio.get_running_loop()\nrelease = asyncio.Event()\nprint("waiting", flush=True)\nawait release.wait()\nprint("released", flush=True)\n`);
    await eventually(() => app.stdout().includes("waiting"), "the first cell to wait");
    const result = await app.host.execute("await asyncio.sleep(0)\nrelease.set()\nasyncio.get_running_loop() is first_loop", 5000);
    expect(resultText(result)).toBe("True");
    await app.host.mainDone;
    await eventually(() => app.stdout().includes("released"), "the first cell to finish");
  });

  it("runs top-level await after a plain first cell too (a loop is made on first use and kept)", async () => {
    const app = run(`import asyncio\n`);
    await app.host.mainDone;
    const started = await app.host.execute(
      "done = []\nasync def later():\n    await asyncio.sleep(0.05)\n    done.append('task ran')\ntask = asyncio.ensure_future(later())\nawait asyncio.sleep(0)\n'started'",
      5000,
    );
    expect(resultText(started)).toBe("'started'");
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(resultText(await app.host.execute("done", 5000))).toBe("['task ran']");
  });

  it("interrupts an awaiting cell at its timeout, cancels its coroutine and keeps the kernel", async () => {
    const app = run(CELL);
    await app.host.mainDone;
    const result = await app.host.execute("cancelled = []\nasync def wait_long():\n    try:\n        await asyncio.sleep(60)\n    except asyncio.CancelledError:\n        cancelled.append(True)\n        raise\nawait wait_long()", 300);
    expect(result.status).toBe("error");
    expect(result.error?.ename).toBe("TimeoutError");
    await expect.poll(async () => resultText(await app.host.execute("cancelled", 5000)), { timeout: 5000 }).toBe("[True]");
    expect(resultText(await app.host.execute("await asyncio.sleep(0, result=1 + 1)", 5000))).toBe("2");
  });

  it("defines what upstream's kernel cell defines first: os, sys and hypha_config", async () => {
    const identity = localIdentity({ workspace: "ws-kernel", clientId: "kernel-client", sessionId: "ws-kernel/kernel-client" });
    const app = run(`print(os.environ["HYPHA_WORKSPACE"], sys.version_info[0], hypha_config["client_id"])\n`, { identity });
    await app.host.mainDone;
    // stdout is a pipe of its own: main_done on the bridge channel may arrive before the print does.
    await expect.poll(() => app.stdout(), { timeout: 5000 }).toBe("ws-kernel 3 kernel-client\n");
    expect(resultText(await app.host.execute("sorted(hypha_config)", 5000))).toBe("['app_id', 'client_id', 'server_url', 'token', 'workspace']");
    // The runner's own variable does not leak into the app's environment.
    expect(resultText(await app.host.execute("'HYPHA_BRIDGE_KERNEL' in os.environ", 5000))).toBe("False");
  });

  it("unwraps an entry point left in upstream's template tags, as upstream's worker does", async () => {
    const app = run(`<script lang="python">\nanswer = 6 * 7\nprint("answer", answer)\n</script>\n`);
    await app.host.mainDone;
    // stdout is its own pipe: main_done may arrive before the print (seen in a run against real micromamba).
    await expect.poll(() => app.stdout(), { timeout: 5000 }).toBe("answer 42\n");
  });

  it("fails like a script when the first cell raises (upstream's start fails on an initialization error)", async () => {
    const app = run(`raise RuntimeError("init failed")\n`);
    expect(await app.exited).toBe(1);
    expect(app.stderr()).toContain("RuntimeError: init failed");
  });

  it("without kernel mode a script that connects to nothing still completes", async () => {
    const app = startApp(`print("done")\n`);
    apps.push(app);
    expect(await app.exited).toBe(0);
  });
});
