/**
 * The stand-in's worker selection against hypha 0.21.135's apps.py: every mode over real hypha-rpc
 * workers (ties to the first worker, exact, first_success, skipped and failing select functions, errors
 * worded as upstream's), the `__rlb` load figure behind min_load, and the rule that a started app that is
 * neither singleton, daemon nor autoscaling gets its running instance back.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connectToHypha, type HyphaServer } from "../../src/hypha/connect.js";
import { AppManagerStandIn } from "./app-manager.js";
import { selectWorkerByFunction, selectWorkerByLoad } from "./app-manager/selection.js";
import { startTinyWorker, type TinyWorker, type TinyWorkerOptions } from "./app-manager/tiny-worker.js";
import type { RemoteService } from "./app-manager/workers.js";
import { ClientLoadMeter } from "./hypha-server/client-load.js";
import { startHyphaTestServer, type HyphaTestServer } from "./hypha-server.js";

let server: HyphaTestServer;
let manager: AppManagerStandIn;
const workers: TinyWorker[] = [];

const app = (id: string, manifest: Record<string, unknown> = {}) => ({
  manifest: { type: "conda-python", name: id, id, entry_point: "main.py", startup_config: { timeout: 20 }, ...manifest },
  files: { "main.py": "print('hi')\n" },
});

beforeAll(async () => {
  server = await startHyphaTestServer();
  manager = await AppManagerStandIn.create(server);
});
afterEach(async () => {
  await manager.settle();
  await Promise.all(workers.splice(0).map((w) => w.close()));
});
afterAll(async () => {
  await manager.close();
  await server.stop();
});

async function worker(options: TinyWorkerOptions): Promise<TinyWorker> {
  const w = await startTinyWorker(server, options);
  workers.push(w);
  return w;
}

async function remote(w: TinyWorker): Promise<RemoteService> {
  return (await manager.client.getService(w.id)) as RemoteService;
}

describe("selection modes", () => {
  it("select:min and select:max break ties towards the first worker, as Python's min()/max()", async () => {
    const ws = { workspace: "ws-user-ties", user: "ties" };
    const a = await worker({ workspace: ws.workspace, load: 2 });
    const b = await worker({ workspace: ws.workspace, load: 1 });
    const c = await worker({ workspace: ws.workspace, load: 1 });
    await worker({ workspace: ws.workspace, load: 2 });
    await manager.install(app("ties-app"), { ...ws, verify: false, compile: false });
    const min = await manager.start("ties-app", { ...ws, mode: "select:min:get_load" });
    expect(min.worker_id).toBe(b.id);
    expect(min.worker_id).not.toBe(c.id);
    await manager.stop(min.id);
    const max = await manager.start("ties-app", { ...ws, mode: "select:max:get_load" });
    expect(max.worker_id).toBe(a.id);
    await manager.stop(max.id);
    const first = await manager.start("ties-app", { ...ws, mode: "first" });
    expect(first.worker_id).toBe(a.id);
    await manager.stop(first.id);
    const last = await manager.start("ties-app", { ...ws, mode: "last" });
    expect(last.worker_id).toBe(workers.at(-1)!.id);
    await manager.stop(last.id);
  });

  it("exact refuses several workers; bad modes fail with upstream's words", async () => {
    const ws = { workspace: "ws-user-exact", user: "exact" };
    const only = await worker({ workspace: ws.workspace });
    await manager.install(app("exact-app"), { ...ws, verify: false, compile: false });
    const session = await manager.start("exact-app", { ...ws, mode: "exact" });
    expect(session.worker_id).toBe(only.id);
    await manager.stop(session.id);
    await worker({ workspace: ws.workspace, load: 1 });
    await expect(manager.start("exact-app", { ...ws, mode: "exact" })).rejects.toThrow(/Multiple workers found for app_type conda-python, but mode is 'exact'\. Found workers: \['ws-user-exact\//);
    await expect(manager.start("exact-app", { ...ws, mode: "select:min" })).rejects.toThrow("Invalid select mode format: select:min. Expected 'select:criteria:function'");
    await expect(manager.start("exact-app", { ...ws, mode: "select:avg:get_load" })).rejects.toThrow("Unknown selection criteria: avg");
    await expect(manager.start("exact-app", { ...ws, mode: "cheapest" as "first" })).rejects.toThrow(/^Invalid selection mode: cheapest\. Mode must be/);
  });

  it("skips workers without the function or failing it; first_success takes the first that answered", async () => {
    const silent = await remote(await worker({ workspace: "ws-user-fn" }));
    const five = await remote(await worker({ workspace: "ws-user-fn", load: 5 }));
    const seven = await remote(await worker({ workspace: "ws-user-fn", load: 7 }));
    const failing = { ...seven, id: "ws-user-fn/broken:conda-worker", get_load: async () => Promise.reject(new Error("boom")) };
    expect((await selectWorkerByFunction([silent, failing, seven, five], "min", "get_load")).id).toBe(five.id);
    expect((await selectWorkerByFunction([silent, failing, seven, five], "first_success", "get_load")).id).toBe(seven.id);
    const late = { ...five, id: "ws-user-fn/late:conda-worker", get_load: () => new Promise((r) => setTimeout(() => r(0), 300)) };
    expect((await selectWorkerByFunction([late, seven], "min", "get_load", 0.05)).id).toBe(seven.id);
    const word = { ...five, id: "ws-user-fn/word:conda-worker", get_load: async () => "busy" };
    await expect(selectWorkerByFunction([word, seven], "min", "get_load")).rejects.toThrow(/float\(\) argument/);
  });
});

describe("min_load reads the server's message rate of __rlb clients", () => {
  it("counts messages per minute for __rlb clients only, restarting the window after 60 s", () => {
    let now = 1_000;
    const meter = new ClientLoadMeter(() => now);
    for (let i = 0; i < 30; i += 1) meter.record("ws", "_rapp_x__rlb");
    meter.record("ws", "worker-1");
    now += 30;
    expect(meter.load("ws", "_rapp_x__rlb")).toBe(60);
    expect(meter.load("ws", "worker-1")).toBe(0);
    now += 31;
    meter.record("ws", "_rapp_x__rlb");
    expect(meter.load("ws", "_rapp_x__rlb")).toBe(0);
  });

  it("picks the least busy __rlb client, and the first of equal scores", async () => {
    // Connected together, so their windows start together; one then sends 40 more calls than the other.
    const [client, quiet] = await Promise.all(
      ["busy__rlb", "quiet__rlb"].map((id) => connectToHypha({ server_url: server.url, client_id: id, token: server.issueToken({ workspace: "ws-user-rlb", userId: "rlb" }) })),
    ) as [HyphaServer, HyphaServer];
    try {
      for (let i = 0; i < 40; i += 1) await client.listServices();
      const busy = { id: "ws-user-rlb/busy__rlb:svc" } as RemoteService;
      const calm = { id: "ws-user-rlb/quiet__rlb:svc" } as RemoteService;
      const load = (w: string, c: string) => server.clientLoad.load(w, c);
      expect(selectWorkerByLoad([busy, calm], "min", load).id).toBe(calm.id);
      expect(selectWorkerByLoad([busy, calm], "max", load).id).toBe(busy.id);
      const plain = [{ id: "ws/a:svc" }, { id: "ws/b:svc" }] as RemoteService[];
      expect(selectWorkerByLoad(plain, "min", load).id).toBe("ws/a:svc");
    } finally {
      await Promise.all([client.disconnect(), quiet.disconnect()]);
    }
  });
});

describe("one instance per app unless autoscaling", () => {
  it("returns the running instance of a plain app, starts another for an autoscaling app", async () => {
    const ws = { workspace: "ws-user-inst", user: "inst" };
    const w = await worker({ workspace: ws.workspace });
    await manager.install(app("plain"), { ...ws, verify: false, compile: false });
    await manager.install(app("scaled", { autoscaling: { enabled: true, min_instances: 1, max_instances: 3 } }), { ...ws, verify: false, compile: false });
    const first = await manager.start("plain", ws);
    expect((await manager.start("plain", ws)).id).toBe(first.id);
    const a = await manager.start("scaled", ws);
    const b = await manager.start("scaled", ws);
    expect(a.id).not.toBe(b.id);
    expect(w.seen.filter((c) => c.method === "start")).toHaveLength(3);
    await Promise.all([first, a, b].map((s) => manager.stop(s.id)));
  });
});
