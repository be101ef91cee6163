/**
 * The test server's workspace manager against hypha 0.21.135's workspace interface
 * (hypha/core/workspace.py `create_service`): the same method names, Python's calling convention,
 * the result shapes apps read, and client events (emit to "*", delivered to subscribers only).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connectToHypha, type HyphaConnectOptions, type HyphaServer } from "../../src/hypha/connect.js";
import { managerMethods } from "../../src/bridge/manager-api.js";
import { startHyphaTestServer, type HyphaTestServer } from "./hypha-server.js";

/** The keys of the interface dict in hypha 0.21.135's WorkspaceManager.create_service, in its order. */
const HYPHA_0_21_135_METHODS = [
  "echo", "log", "log_event", "get_event_stats", "get_events", "register_service", "unregister_service", "list_workspaces",
  "list_services", "search_services", "list_clients", "register_service_type", "get_service_type", "list_service_types",
  "get_service_info", "get_service", "generate_token", "revoke_token", "parse_token", "create_workspace", "delete_workspace",
  "bookmark", "unbookmark", "get_workspace_info", "get_summary", "ping", "cleanup", "check_status", "set_env", "get_env",
  "subscribe", "unsubscribe",
];

let server: HyphaTestServer;
const clients: HyphaServer[] = [];
type Fn = (...args: unknown[]) => Promise<unknown>;
const kw = (kwargs: Record<string, unknown>) => ({ ...kwargs, _rkwargs: true });

beforeAll(async () => {
  server = await startHyphaTestServer();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.disconnect().catch(() => undefined)));
});
afterAll(async () => {
  await server.stop();
});

async function connect(workspace: string, clientId: string, userId = "carol", extra: Partial<HyphaConnectOptions> = {}): Promise<HyphaServer> {
  const client = await connectToHypha({ server_url: server.url, workspace, client_id: clientId, token: server.issueToken({ workspace, userId }), method_timeout: 10, ...extra });
  clients.push(client);
  return client;
}

async function waitFor(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`gave up waiting for ${what}`);
}

describe("workspace manager interface", () => {
  it("offers exactly the methods of hypha 0.21.135's workspace manager", async () => {
    const client = await connect("ws-user-carol", "iface");
    const remote = Object.keys(managerMethods(client));
    // hypha-rpc replaces register_service/unregister_service/get_service with client-side helpers.
    const replacedByClient = ["register_service", "unregister_service", "get_service"];
    expect(remote.sort()).toEqual(HYPHA_0_21_135_METHODS.filter((m) => !replacedByClient.includes(m)).sort());
  });

  it("takes positional and keyword arguments together, as the Python server does, and refuses unknown keywords", async () => {
    const client = await connect("ws-user-carol", "conv");
    await (client.setEnv as Fn)("COLOR", kw({ value: "blue" }));
    expect(await (client.getEnv as Fn)(kw({ key: "COLOR" }))).toBe("blue");
    expect(await (client.getEnv as Fn)()).toEqual({ COLOR: "blue" });
    await expect((client.getEnv as Fn)("NOPE")).rejects.toThrow(/Environment variable 'NOPE' not found in workspace ws-user-carol/);
    await expect((client.echo as Fn)(kw({ payload: 1 }))).rejects.toThrow(/unexpected keyword argument 'payload'/);
  });

  it("answers workspace info, status, clients, summary and ping in upstream's shapes", async () => {
    const client = await connect("ws-user-carol", "shapes");
    await connect("ws-user-carol", "shapes-2");
    const info = (await (client.getWorkspaceInfo as Fn)()) as Record<string, unknown>;
    expect(Object.keys(info).sort()).toEqual(["config", "covers", "description", "docs", "icon", "id", "name", "owners", "persistent", "read_only", "service_types", "status", "type"]);
    expect(info).toMatchObject({ type: "workspace", id: "ws-user-carol", name: "ws-user-carol" });
    expect(await (client.checkStatus as Fn)()).toEqual({ status: "ready", errors: null, user_permission: "a" });
    const listed = (await (client.listClients as Fn)()) as Array<{ id: string; user: { id: string } }>;
    expect(listed.map((c) => c.id).sort()).toEqual(["ws-user-carol/shapes", "ws-user-carol/shapes-2"]);
    expect(listed[0]!.user.id).toBe("carol");
    const summary = (await (client.getSummary as Fn)()) as { client_count: number; services: Array<{ id: string }> };
    expect(summary.client_count).toBe(2);
    expect(summary.services.map((s) => s.id)).toContain("ws-user-carol/shapes:built-in");
    expect(await (client.ping as Fn)("shapes-2")).toBe("pong");
    await expect((client.getWorkspaceInfo as Fn)("ws-nowhere")).rejects.toThrow(/Permission denied for workspace ws-nowhere/);
    await expect((client.searchServices as Fn)("anything")).rejects.toThrow(/Service search is not enabled/);
  });

  it("issues tokens that connect, parses them, and refuses another workspace", async () => {
    const client = await connect("ws-user-carol", "tok");
    const token = (await (client.generateToken as Fn)({ client_id: "sub-client", expires_in: 600 })) as string;
    const parsed = (await (client.parseToken as Fn)(token)) as { id: string; scope: { current_workspace: string; client_id: string } };
    expect(parsed.scope).toMatchObject({ current_workspace: "ws-user-carol", client_id: "sub-client" });
    const sub = await connectToHypha({ server_url: server.url, workspace: "ws-user-carol", client_id: "sub-client", token, method_timeout: 10 });
    clients.push(sub);
    expect(sub.config.workspace).toBe("ws-user-carol");
    await expect((client.generateToken as Fn)({ workspace: "ws-other" })).rejects.toThrow(/You do not have any permission for workspace: ws-other/);
  });

  it("logs events and reads them back with counts; keeps service types", async () => {
    const client = await connect("ws-user-carol", "events-log");
    await (client.log as Fn)("hello");
    await (client.logEvent as Fn)("model_loaded", { name: "m1" });
    await (client.logEvent as Fn)("model_loaded", { name: "m2" });
    const events = (await (client.getEvents as Fn)("model_loaded")) as Array<{ event_type: string; data: { name: string } }>;
    expect(events.map((e) => e.data.name)).toEqual(["m1", "m2"]);
    expect(await (client.getEventStats as Fn)()).toEqual(expect.arrayContaining([{ event_type: "log", count: 1 }, { event_type: "model_loaded", count: 2 }]));
    await (client.registerServiceType as Fn)({ id: "my-type", name: "My type", definition: { add: {} } });
    expect(await (client.getServiceType as Fn)("my-type")).toMatchObject({ id: "ws-user-carol/my-type", name: "My type" });
    expect(((await (client.listServiceTypes as Fn)()) as unknown[]).length).toBeGreaterThan(0);
  });
});

describe("client events", () => {
  it("delivers emit({to: '*'}) to subscribed clients of the workspace only, until they unsubscribe", async () => {
    const sender = await connect("ws-user-carol", "ev-sender");
    const subscribed = await connect("ws-user-carol", "ev-sub");
    const silent = await connect("ws-user-carol", "ev-silent");
    const stranger = await connect("ws-user-dave", "ev-stranger", "dave");
    const seen: Record<string, Array<Record<string, unknown>>> = { sub: [], silent: [], stranger: [] };
    subscribed.on!("news", (m) => seen.sub!.push(m as Record<string, unknown>));
    silent.on!("news", (m) => seen.silent!.push(m as Record<string, unknown>));
    stranger.on!("news", (m) => seen.stranger!.push(m as Record<string, unknown>));
    expect(await (subscribed.subscribe as Fn)("news")).toBe(true);
    await (stranger.subscribe as Fn)(["news"]);
    await (sender.emit as Fn)({ type: "news", to: "*", data: { headline: "one" } });
    await waitFor(() => seen.sub!.length === 1, "the subscriber's event");
    expect(seen.sub![0]).toMatchObject({ type: "news", data: { headline: "one" }, from: "ws-user-carol/ev-sender", to: "ws-user-carol/*", ws: "ws-user-carol" });
    await (subscribed.unsubscribe as Fn)("news");
    await (sender.emit as Fn)({ type: "news", to: "*", data: { headline: "two" } });
    await (sender.echo as Fn)("round trip"); // the second broadcast has been routed once this returns
    await new Promise((r) => setTimeout(r, 50));
    expect(seen.sub).toHaveLength(1);
    expect(seen.silent).toHaveLength(0);
    expect(seen.stranger).toHaveLength(0);
    await expect((sender.subscribe as Fn)("ws-user-dave/news")).rejects.toThrow(/Subscription to event 'ws-user-dave\/news' is forbidden/);
  });
});
