/**
 * Quick sync functions run on the thread that read the call (leader.py): the channel is never left
 * unread, whether such a call later blocks on app state or waits on the worker.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, type RunningApp } from "./helpers.js";

const APP = `
import os, threading
from hypha_rpc.sync import connect_to_server

released = threading.Event()

def thread_name():
    return threading.current_thread().name

def wait_if(wait):
    if wait:
        released.wait(30)
        return "released" if released.is_set() else "timed out"
    return "quick"

def release():
    released.set()
    return True

def reset():
    released.clear()
    return True

def maybe_apply(f, x):
    return x if f is None else f(x)

server = connect_to_server({"server_url": os.environ["HYPHA_SERVER_URL"]})
server.register_service({"id": "default", "thread_name": thread_name, "wait_if": wait_if, "release": release, "reset": reset, "maybe_apply": maybe_apply})
`;

let app: RunningApp;
const call = (method: string, ...args: unknown[]) => app.host.callService("default", method, args);

beforeAll(async () => {
  app = startApp(APP);
  await app.host.waitForService("default", 10_000);
});
afterAll(async () => {
  await app.stop();
});

describe("sync calls run where they were read", () => {
  it("runs a function seen to be quick on the reading thread, its first call in the pool", async () => {
    expect(await call("thread_name")).toMatch(/^hypha-bridge-call/);
    const later: unknown[] = [];
    for (let i = 0; i < 5; i += 1) later.push(await call("thread_name"));
    expect(later).toContain("hypha-bridge-reader");
  });

  it("keeps reading while such a call blocks: the call that unblocks it still gets through", async () => {
    for (let i = 0; i < 5; i += 1) expect(await call("wait_if", false)).toBe("quick");
    const waiting = call("wait_if", true);
    // Sent apart, so the runner reads the wait alone (and runs it on the reading thread), then the release.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await call("release")).toBe(true);
    expect(await waiting).toBe("released");
  });

  it("runs every quick call of one read on the reading thread, not only the last", async () => {
    for (let i = 0; i < 5; i += 1) await call("thread_name");
    // Sent in one tick, so the worker writes them at once and the runner reads them together.
    const names = await Promise.all(Array.from({ length: 20 }, () => call("thread_name")));
    expect(names.filter((n) => n === "hypha-bridge-reader").length).toBeGreaterThanOrEqual(10);
  });

  it("never leaves the calls read behind a blocking one waiting: the next reader takes them over", async () => {
    for (let i = 0; i < 5; i += 1) expect(await call("wait_if", false)).toBe("quick");
    await call("reset");
    // One read: the wait runs on the reading thread and blocks; the release behind it must still run.
    const [waited, released] = await Promise.all([call("wait_if", true), call("release")]);
    expect(released).toBe(true);
    expect(waited).toBe("released");
  });

  it("lets such a call wait on a worker-side function (its answer is read by another thread)", async () => {
    for (let i = 0; i < 5; i += 1) expect(await call("maybe_apply", null, i)).toBe(i);
    expect(await call("maybe_apply", (x: number) => x * 3, 7)).toBe(21);
    expect(await call("maybe_apply", null, 8)).toBe(8);
  });
});
