/**
 * Tests of the Hypha test server against reference/hypha-server.md, through hypha-rpc 0.21.40's own
 * client (connectToHypha) and, for wire details, a bare WebSocket.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { encode } from "@msgpack/msgpack";
import { connectToHypha, type HyphaConnectOptions, type HyphaServer } from "../../src/hypha/connect.js";
import { connectInternalClient, startHyphaTestServer, TEST_HYPHA_VERSION, type HyphaTestServer } from "./hypha-server.js";
import { openRawClient, type RawClient } from "./hypha-server/raw-client.js";

let server: HyphaTestServer;
const clients: HyphaServer[] = [];
const raws: RawClient[] = [];

beforeAll(async () => {
  server = await startHyphaTestServer();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.disconnect().catch(() => undefined)));
  await Promise.all(raws.splice(0).map((r) => r.close()));
});
afterAll(async () => {
  await server.stop();
});

async function connect(options: Partial<HyphaConnectOptions> = {}): Promise<HyphaServer> {
  const client = await connectToHypha({ server_url: server.url, method_timeout: 10, ...options });
  clients.push(client);
  return client;
}

async function raw(auth: Record<string, unknown>): Promise<RawClient> {
  const client = await openRawClient(server.wsUrl, auth);
  raws.push(client);
  return client;
}

type Fn = (...args: unknown[]) => Promise<unknown>;

describe("handshake", () => {
  it("answers a good token with connection_info in the token's workspace", async () => {
    const token = server.issueToken({ workspace: "ws-user-alice", userId: "alice" });
    const client = await raw({ client_id: "c1", workspace: null, token, reconnection_token: null });
    expect(client.first).toMatchObject({
      type: "connection_info",
      workspace: "ws-user-alice",
      client_id: "c1",
      manager_id: server.managerId,
      hypha_version: TEST_HYPHA_VERSION,
      public_base_url: server.url,
      local_base_url: server.url,
      user: { id: "alice", is_anonymous: false },
    });
    expect(typeof client.first.reconnection_token).toBe("string");
  });

  it("refuses a forged token, a token for another workspace and a client-scoped token used by another client", async () => {
    const good = server.issueToken({ workspace: "ws-a", userId: "alice" });
    const forged = `${good.slice(0, -4)}AAAA`;
    await expect(connect({ token: forged, client_id: "x1" })).rejects.toThrow(/Failed to establish connection: .*Signature/);
    await expect(connect({ token: good, workspace: "ws-b", client_id: "x2" })).rejects.toThrow(
      "Current workspace encoded in the token (ws-a) does not match the specified workspace (ws-b)",
    );
    const appToken = server.issueToken({ workspace: "ws-a", userId: "alice", clientId: "_rapp_one" });
    await expect(connect({ token: appToken, client_id: "_rapp_two" })).rejects.toThrow(/Client id mismatch/);
    const ok = await connect({ token: appToken, client_id: "_rapp_one" });
    expect(ok.config.workspace).toBe("ws-a");
  });

  it("refuses an expired token", async () => {
    const expired = server.issueToken({ workspace: "ws-a", expiresInS: -10 });
    await expect(connect({ token: expired })).rejects.toThrow(/expired/);
  });

  it("puts an anonymous client in a fresh workspace of its own and refuses it elsewhere", async () => {
    const a = await connect();
    const b = await connect();
    expect(a.config.workspace).toMatch(/^ws-user-anonymouz-/);
    expect(b.config.workspace).not.toBe(a.config.workspace);
    await expect(connect({ workspace: "public" })).rejects.toThrow("Permission denied for workspace: public");
  });

  it("refuses a second client with the id of an active one", async () => {
    const token = server.issueToken({ workspace: "ws-dup" });
    await connect({ token, client_id: "same" });
    await expect(connect({ token, client_id: "same" })).rejects.toThrow("Client already exists and is active: ws-dup/same");
  });

  it("answers ping with pong and refresh_token with a new reconnection token", async () => {
    const client = await raw({ client_id: "p1", token: server.issueToken({ workspace: "ws-p" }) });
    client.socket.send(JSON.stringify({ type: "ping" }));
    expect(await client.next()).toEqual({ type: "pong" });
    client.socket.send(JSON.stringify({ type: "refresh_token" }));
    const answer = await client.next();
    expect(answer.type).toBe("reconnection_token");
    expect(typeof answer.reconnection_token).toBe("string");
  });
});

describe("services", () => {
  it("registers, gets by every id form, lists and unregisters", async () => {
    const token = server.issueToken({ workspace: "ws-svc", userId: "bob" });
    const provider = await connect({ token, client_id: "prov" });
    await provider.registerService({ id: "calc", type: "calculator", add: (a: number, b: number) => a + b });
    const consumer = await connect({ token, client_id: "cons" });
    for (const id of ["ws-svc/prov:calc", "prov:calc", "calc"]) {
      const svc = await consumer.getService(id);
      expect(svc.id).toBe("ws-svc/prov:calc");
      expect(await (svc.add as Fn)(2, 3)).toBe(5);
    }
    const listed = await consumer.listServices({ type: "calculator" });
    expect(listed.map((s) => s.id)).toEqual(["ws-svc/prov:calc"]);
    await provider.unregisterService("calc");
    expect(await consumer.listServices({ type: "calculator" })).toEqual([]);
    await expect(consumer.getService("calc")).rejects.toThrow("Service not found: calc");
  });

  it("picks among several matches with mode first/last and refuses mode exact", async () => {
    const token = server.issueToken({ workspace: "ws-mode" });
    for (const id of ["m1", "m2"]) {
      const c = await connect({ token, client_id: id });
      await c.registerService({ id: "echo", who: () => id });
    }
    const consumer = await connect({ token, client_id: "m3" });
    expect(await ((await consumer.getService("echo", { mode: "first" })).who as Fn)()).toBe("m1");
    expect(await ((await consumer.getService("echo", { mode: "last" })).who as Fn)()).toBe("m2");
    await expect(consumer.getService("echo", { mode: "exact" })).rejects.toThrow(/Multiple services found/);
  });

  it("lists server-app-worker services of a workspace by type", async () => {
    const token = server.issueToken({ workspace: "ws-workers" });
    const worker = await connect({ token, client_id: "w" });
    await worker.registerService({ id: "conda", type: "server-app-worker", supported_types: ["conda-python"], start: () => "s" });
    const other = await connect({ token, client_id: "o" });
    const found = await other.listServices({ type: "server-app-worker" });
    expect(found.map((s) => s.id)).toEqual(["ws-workers/w:conda"]);
  });
});

describe("manager utilities and large messages", () => {
  it("echoes, generates a token for the caller's workspace and pings clients", async () => {
    const client = await connect({ token: server.issueToken({ workspace: "ws-util", userId: "util" }), client_id: "util-1" });
    expect(await (client.echo as Fn)({ a: [1, 2] })).toEqual({ a: [1, 2] });
    const token = (await (client.generateToken as Fn)()) as string;
    const second = await connect({ token, client_id: "util-2" });
    expect(second.config.workspace).toBe("ws-util");
    expect(await (client.ping as Fn)("util-2")).toBe("pong");
    await expect((client.ping as Fn)("nobody")).rejects.toThrow(/Failed to ping client ws-util\/nobody/);
    await expect((client.generateToken as Fn)({ workspace: "ws-other" })).rejects.toThrow(/You do not have any permission for workspace: ws-other/);
  });

  it("carries a multi-megabyte payload through hypha-rpc's chunked messages", async () => {
    const token = server.issueToken({ workspace: "ws-big" });
    const provider = await connect({ token, client_id: "big-prov" });
    await provider.registerService({ id: "big", size: (data: Uint8Array) => data.byteLength, make: (n: number) => new Uint8Array(n).fill(7) });
    const consumer = await connect({ token, client_id: "big-cons" });
    const svc = await consumer.getService("big-prov:big");
    const payload = new Uint8Array(3 * 1024 * 1024).fill(1);
    expect(await (svc.size as Fn)(payload)).toBe(payload.byteLength);
    const back = (await (svc.make as Fn)(2 * 1024 * 1024)) as Uint8Array;
    expect(back.byteLength).toBe(2 * 1024 * 1024);
    expect(back[back.byteLength - 1]).toBe(7);
  });
});

describe("visibility", () => {
  let providerToken: string;
  beforeAll(() => {
    providerToken = server.issueToken({ workspace: "ws-owner", userId: "owner" });
  });

  it("refuses a protected service to another workspace, including the public internal client", async () => {
    const provider = await connect({ token: providerToken, client_id: "vis1" });
    await provider.registerService({ id: "secret", config: { visibility: "protected" }, get: () => 42 });
    const stranger = await connect({ token: server.issueToken({ workspace: "ws-stranger" }) });
    await expect(stranger.getService("ws-owner/vis1:secret")).rejects.toThrow(/Permission denied.*workspace mismatch: ws-owner != ws-stranger/);
    const internal = await connectInternalClient(server);
    clients.push(internal);
    expect(internal.config.workspace).toBe("public");
    await expect(internal.getService("ws-owner/vis1:secret")).rejects.toThrow(/Permission denied.*workspace mismatch: ws-owner != public/);
    expect((await stranger.listServices("ws-owner")).map((s) => s.id)).not.toContain("ws-owner/vis1:secret");
  });

  it("serves a public service to anyone and a protected one to its authorized workspaces", async () => {
    const provider = await connect({ token: providerToken, client_id: "vis2" });
    await provider.registerService({ id: "open", config: { visibility: "public" }, get: () => "open" });
    await provider.registerService({ id: "shared", config: { visibility: "protected", authorized_workspaces: ["public"] }, get: () => "shared" });
    const internal = await connectInternalClient(server);
    clients.push(internal);
    expect(await ((await internal.getService("ws-owner/vis2:open")).get as Fn)()).toBe("open");
    expect(await ((await internal.getService("ws-owner/vis2:shared")).get as Fn)()).toBe("shared");
    const stranger = await connect({ token: server.issueToken({ workspace: "ws-stranger2" }) });
    await expect(stranger.getService("ws-owner/vis2:shared")).rejects.toThrow(/Permission denied/);
  });

  it("gives require_context services the caller's real ws, user and from", async () => {
    const provider = await connect({ token: providerToken, client_id: "vis3" });
    await provider.registerService({
      id: "whoami",
      config: { visibility: "public", require_context: true },
      who: (context: { ws: string; from: string; user: { id: string } }) => ({ ws: context.ws, from: context.from, user: context.user.id }),
    });
    const caller = await connect({ token: server.issueToken({ workspace: "ws-caller", userId: "carol" }), client_id: "carol-client" });
    const svc = await caller.getService("ws-owner/vis3:whoami");
    expect(await (svc.who as Fn)()).toEqual({ ws: "ws-caller", from: "ws-caller/carol-client", user: "carol" });
  });
});

describe("disconnects", () => {
  it("answers a frame to an unknown peer with peer_not_found carrying the session", async () => {
    const client = await raw({ client_id: "r1", token: server.issueToken({ workspace: "ws-raw" }) });
    const main = { type: "method", from: "spoofed/x", to: "nobody", method: "services.x.y", session: "s-123" };
    const frame = new Uint8Array([...encode(main), ...encode({ args: [] })]);
    client.socket.send(frame);
    expect(await client.next()).toMatchObject({ type: "peer_not_found", session: "s-123", peer_id: "ws-raw/nobody" });
  });

  it("overwrites a spoofed from, qualifies to, adds ws and user, and forwards the extra part untouched", async () => {
    const token = server.issueToken({ workspace: "ws-route", userId: "router-user" });
    const sender = await raw({ client_id: "sender", token });
    const receiver = await raw({ client_id: "receiver", token });
    const main = { type: "method", from: "evil/x", to: "receiver", method: "services.x.y", ws: "evil", user: { id: "root" } };
    sender.socket.send(new Uint8Array([...encode(main), ...encode({ args: [1, "two"], with_kwargs: true })]));
    expect(await receiver.next()).toMatchObject({
      type: "method",
      from: "ws-route/sender",
      to: "ws-route/receiver",
      ws: "ws-route",
      user: { id: "router-user" },
      method: "services.x.y",
      args: [1, "two"],
      with_kwargs: true,
    });
  });

  it("removes a gone client's services, tells subscribers, and fails calls to it at once", async () => {
    const token = server.issueToken({ workspace: "ws-gone" });
    const provider = await connect({ token, client_id: "leaver" });
    await provider.registerService({ id: "svc", ping: () => "pong" });
    const watcher = await connect({ token, client_id: "watcher" });
    const svc = await watcher.getService("leaver:svc");
    const events: unknown[] = [];
    const disconnected = new Promise<void>((resolve) =>
      watcher.on?.("client_disconnected", (event) => {
        events.push((event as { data: unknown }).data);
        resolve();
      }),
    );
    await provider.disconnect();
    await disconnected;
    expect(events).toContainEqual({ id: "leaver", workspace: "ws-gone" });
    expect(await watcher.listServices({ client_id: "leaver" })).toEqual([]);
    // Rejected by peer_not_found, long before the 10 s method timeout.
    await expect((svc.ping as Fn)()).rejects.toThrow(/not connected|Peer/);
  });
});

describe("restart", () => {
  it("lets hypha-rpc clients reconnect and re-register after a restart on the same port", async () => {
    const token = server.issueToken({ workspace: "ws-restart" });
    const provider = await connect({ token, client_id: "survivor" });
    await provider.registerService({ id: "svc", config: { visibility: "public" }, twice: (n: number) => n * 2 });
    const port = server.port;
    const oldManager = server.managerId;
    await server.restart();
    expect(server.port).toBe(port);
    expect(server.managerId).not.toBe(oldManager);
    await waitUntil(() => server.router.registry.get("ws-restart/survivor:svc") !== undefined, 20_000);
    const consumer = await connect();
    expect(await ((await consumer.getService("ws-restart/survivor:svc")).twice as Fn)(21)).toBe(42);
  });
});

async function waitUntil(check: () => boolean, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
