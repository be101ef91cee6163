/**
 * Apps that serve HTTP, through the whole stack: installed and started by the app-manager stand-in on the
 * real CondaWorker (fake micromamba over the fixture channel, no hypha_rpc in the env: the bridge carries
 * the connection), then reached with plain HTTP requests at `/{workspace}/apps/{service_id}/...` on the
 * Hypha test server, which calls the app's `asgi` or `functions` service as the real server does.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import type { HyphaServer } from "../../src/hypha/connect.js";
import type { RegisteredWorkerService } from "../../src/hypha/service.js";
import type { CondaWorker } from "../../src/worker/conda-worker.js";
import { AppManagerStandIn, type AppSession } from "../support/app-manager.js";
import type { HyphaTestServer } from "../support/hypha-server.js";
import { openAppWorkerBed, type AppWorkerBed } from "../support/app-worker-bed.js";

const APPS = path.resolve("fixtures/apps");
const ALICE = { workspace: "ws-user-alice", user: "alice" };

let server: HyphaTestServer;
let manager: AppManagerStandIn;
let workerClient: HyphaServer;
let registered: RegisteredWorkerService;
let worker: CondaWorker;

function fixture(app: string) {
  const manifest = YAML.parse(readFileSync(path.join(APPS, app, "manifest.yaml"), "utf8")) as Record<string, unknown>;
  return { manifest, files: { "main.py": readFileSync(path.join(APPS, app, "main.py"), "utf8") } };
}

async function startFixture(app: string): Promise<AppSession> {
  await manager.install(fixture(app), { ...ALICE, verify: false });
  return manager.start(app, { ...ALICE, workerId: registered.id, timeout: 90 });
}

const url = (servicePath: string) => `${server.url}/${ALICE.workspace}/apps/${servicePath}`;

let bed: AppWorkerBed;

beforeAll(async () => {
  bed = await openAppWorkerBed("http");
  ({ server, manager, workerClient, registered, worker } = bed);
}, 60_000);

afterAll(async () => {
  await bed?.close();
});

describe("an ASGI app (fixtures/apps/asgi-echo)", () => {
  it("answers HTTP requests through serve({scope, receive, send}), body and headers both ways", async () => {
    const session = await startFixture("asgi-echo");
    const described = await fetch(`${url("asgi-echo/")}?q=1`, { headers: { "x-probe": "p1" } });
    expect(described.status).toBe(200);
    expect(described.headers.get("content-type")).toBe("application/json");
    expect(await described.json()).toMatchObject({ method: "GET", path: "/", query: "q=1", headers: expect.objectContaining({ "x-probe": "p1" }), body: "" });
    const upper = await fetch(url("asgi-echo/upper"), { method: "POST", body: "grüße über http" });
    expect([upper.status, await upper.text()]).toEqual([200, "GRÜSSE ÜBER HTTP"]);
    const missing = await fetch(url("asgi-echo/nowhere"));
    expect([missing.status, await missing.text()]).toEqual([404, "no such page: /nowhere"]);
    // Concurrent requests each get their own receive/send callbacks and their own answer.
    const words = Array.from({ length: 8 }, (_, i) => `word${i}`);
    const answers = await Promise.all(words.map(async (word) => (await fetch(url("asgi-echo/upper"), { method: "POST", body: word })).text()));
    expect(answers).toEqual(words.map((w) => w.toUpperCase()));
    const times: number[] = [];
    for (let i = 0; i < 20; i += 1) {
      const t = performance.now();
      expect((await fetch(url("asgi-echo/"))).status).toBe(200);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    console.log(`[http-apps] ASGI GET through server → worker → bridge → Python and back: median ${times[10]!.toFixed(1)} ms over 20`);
    await manager.stop(session.id);
    // Once the app stopped, its service is gone: the route answers 404.
    await expect.poll(async () => (await fetch(url("asgi-echo/"))).status, { timeout: 15_000 }).toBe(404);
  }, 120_000);
});

describe("a functions service (fixtures/apps/http-functions)", () => {
  it("routes paths to its functions, nested ones and default included", async () => {
    const session = await startFixture("http-functions");
    expect(await (await fetch(url("http-functions/"))).text()).toBe("http-functions is up");
    const hello = await fetch(url("http-functions/hello?name=bob"));
    expect(hello.headers.get("content-type")).toBe("application/json");
    expect(await hello.json()).toEqual({ greeting: "hello bob" });
    expect(await (await fetch(url("http-functions/math/double"), { method: "POST", body: "21" })).text()).toBe("42.0");
    const other = await fetch(url("http-functions/some/where"));
    expect([other.status, await other.text()]).toEqual([404, "nothing at /some/where"]);
    await manager.stop(session.id);
  }, 120_000);
});
