// The test server's `/{workspace}/apps/{service_id}/...` routes (hypha/http.py ASGIRoutingMiddleware):
// ASGI services get serve({scope, receive, send}); functions services answer by function path; lookups
// use the HTTP caller's permissions. The services here are hypha-rpc JS clients; fixtures/apps/asgi-echo
// and fixtures/apps/http-functions run the same through the worker (test/worker/http-apps.test.ts).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectToHypha, type HyphaServer } from "../../src/hypha/connect.js";
import { startHyphaTestServer, type HyphaTestServer } from "./hypha-server.js";

type Send = (message: Record<string, unknown>) => Promise<void>;
type Receive = () => Promise<{ type: string; body?: Uint8Array; more_body?: boolean }>;

let server: HyphaTestServer;
let owner: HyphaServer;
const seen: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  server = await startHyphaTestServer();
  owner = await connectToHypha({ server_url: server.url, workspace: "ws-user-alice", client_id: "web", token: server.issueToken({ workspace: "ws-user-alice", userId: "alice" }) });
  await owner.registerService({
    id: "echo",
    type: "asgi",
    config: { visibility: "public" },
    async serve({ scope, receive, send }: { scope: Record<string, unknown>; receive: Receive; send: Send }) {
      seen.push(scope);
      const event = await receive();
      const text = `${String(scope.method)} ${String(scope.path)} ?${Buffer.from(scope.query_string as Uint8Array).toString()} body=${Buffer.from(event.body ?? new Uint8Array()).toString()}`;
      await send({ type: "http.response.start", status: scope.path === "/missing" ? 404 : 200, headers: [[new TextEncoder().encode("content-type"), new TextEncoder().encode("text/plain")], ["x-app", "echo"]] });
      await send({ type: "http.response.body", body: new TextEncoder().encode(text.slice(0, 5)), more_body: true });
      await send({ type: "http.response.body", body: new TextEncoder().encode(text.slice(5)) });
    },
  });
  await owner.registerService({ id: "mute", type: "asgi", config: { visibility: "public" }, async serve() { return undefined; } });
  await owner.registerService({ id: "private-echo", type: "asgi", config: { visibility: "protected" }, async serve({ send }: { send: Send }) {
    await send({ type: "http.response.start", status: 200, headers: [] });
    await send({ type: "http.response.body", body: "inside" });
  } });
  await owner.registerService({
    id: "fns",
    type: "functions",
    config: { visibility: "public" },
    async index() { return { status: 200, headers: { "content-type": "text/plain" }, body: "index page" }; },
    async greet(scope: Record<string, unknown>) {
      seen.push(scope);
      return { status: 201, headers: { "content-type": "application/json" }, body: JSON.stringify({ q: scope.query_string, body: scope.body === null ? null : Buffer.from(scope.body as Uint8Array).toString(), ua: (scope.headers as Record<string, string>)["x-test"] }) };
    },
    nested: { async sum(scope: Record<string, unknown>) { return { body: `sum of ${String(scope.query_string)}` }; } },
    async broken() { throw new Error("ValueError: broken on purpose"); },
  });
  await owner.registerService({ id: "fallback", type: "functions", config: { visibility: "public" }, async default(scope: Record<string, unknown>) { return { body: `default for ${String(scope.function_path)}` }; } });
  await owner.registerService({ id: "plain", config: { visibility: "public" }, echo: (x: unknown) => x });
});

afterAll(async () => {
  await owner?.disconnect();
  await server?.stop();
});

const get = (path: string, init?: RequestInit) => fetch(`${server.url}${path}`, init);

describe("ASGI services", () => {
  it("call serve with the scope below the service and stream send's body; receive gives the request body", async () => {
    const response = await get("/ws-user-alice/apps/echo/hello/world?x=1", { method: "POST", body: "ping", headers: { "X-Test": "yes" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-app")).toBe("echo");
    expect(await response.text()).toBe("POST /hello/world ?x=1 body=ping");
    const scope = seen.at(-1)!;
    expect(scope).toMatchObject({ type: "http", method: "POST", path: "/hello/world", root_path: "", scheme: "http", workspace: "ws-user-alice", service_id: "echo" });
    const headers = (scope.headers as Array<[Uint8Array, Uint8Array]>).map(([k, v]) => [Buffer.from(k).toString(), Buffer.from(v).toString()]);
    expect(headers).toContainEqual(["x-test", "yes"]);
    expect((await get("/ws-user-alice/apps/echo/missing")).status).toBe(404);
  });

  it("answers 500 when the app returns without a response, 404 for an unknown service, 403 for a protected one", async () => {
    expect((await get("/ws-user-alice/apps/mute/")).status).toBe(500);
    const missing = await get("/ws-user-alice/apps/nope/");
    expect(missing.status).toBe(404);
    expect(await missing.text()).toMatch(/not found/i);
    const denied = await get("/ws-user-alice/apps/private-echo/");
    expect(denied.status).toBe(403);
    expect(await denied.text()).toMatch(/Permission denied/);
    const token = server.issueToken({ workspace: "ws-user-alice", userId: "alice" });
    const allowed = await get("/ws-user-alice/apps/private-echo/", { headers: { authorization: `Bearer ${token}` } });
    expect([allowed.status, await allowed.text()]).toEqual([200, "inside"]);
    expect((await get("/ws-user-alice/apps/private-echo/", { headers: { authorization: "Bearer not-a-token" } })).status).toBe(401);
    expect((await get("/ws-user-alice/apps/plain/")).status).toBe(500);
  });
});

describe("functions services", () => {
  it("route the path to a function, give it text query, header object and body, and add CORS headers", async () => {
    const response = await get("/ws-user-alice/apps/fns/greet?name=bob", { method: "POST", body: "hi", headers: { "x-test": "t1", origin: "http://example.test" } });
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ q: "name=bob", body: "hi", ua: "t1" });
    expect(response.headers.get("access-control-allow-origin")).toBe("http://example.test");
    expect(seen.at(-1)).toMatchObject({ path: "/greet", raw_path: "/greet", user: expect.objectContaining({ is_anonymous: true }) });
    expect(await (await get("/ws-user-alice/apps/fns/")).text()).toBe("index page");
    expect(await (await get("/ws-user-alice/apps/fns/nested/sum?1+2")).text()).toBe("sum of 1+2");
  });

  it("falls back to default, and answers 404 for no function and 500 when one throws", async () => {
    expect(await (await get("/ws-user-alice/apps/fallback/any/where")).text()).toBe("default for /any/where");
    const none = await get("/ws-user-alice/apps/fns/unknown");
    expect([none.status, await none.text()]).toEqual([404, "Function not found: unknown"]);
    const broken = await get("/ws-user-alice/apps/fns/broken");
    expect(broken.status).toBe(500);
    expect(await broken.text()).toMatch(/^Internal Server Error: /);
  });
});
