// The artifact files endpoint (hypha/artifact.py get_file) lists a folder one page at a time (limit,
// default 1000, and offset), answers 404 for a page past the end, and lists files as
// {type, name, size, last_modified} and folders as {type, name}. Staging must see every entry of a big
// folder, through the app-manager stand-in's file server, which mirrors that endpoint.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHttpFileSource, LISTING_PAGE_SIZE } from "../../src/session/app-files.js";
import { startHyphaTestServer, type HyphaTestServer } from "../support/hypha-server.js";
import { serveAppFiles, type FileRequest } from "../support/app-manager/file-server.js";

const WS = "ws-user-alice";
const APP = "big-app";
const files = new Map<string, Buffer>();
const requests: FileRequest[] = [];
let server: HyphaTestServer;
let removeRoute: () => void;
let token: string;

beforeAll(async () => {
  // 1000 files exactly in one folder (the page past the end is a 404), 1001 + a sub-folder in another.
  for (let i = 0; i < LISTING_PAGE_SIZE; i++) files.set(`exact/f${String(i).padStart(4, "0")}.txt`, Buffer.from("x"));
  for (let i = 0; i <= LISTING_PAGE_SIZE; i++) files.set(`many/f${String(i).padStart(4, "0")}.txt`, Buffer.from("yy"));
  files.set("many/sub/inner.txt", Buffer.from("z"));
  files.set("main.py", Buffer.from("print(1)"));
  server = await startHyphaTestServer();
  removeRoute = serveAppFiles(server, (ws, app) => (ws === WS && app === APP ? files : undefined), requests);
  token = server.issueToken({ workspace: WS, clientId: "_rapp_x__rlb", userId: "alice" });
});
afterAll(async () => {
  removeRoute();
  await server.stop();
});

const source = () => createHttpFileSource({ baseUrl: `${server.url}/${WS}/artifacts/${APP}/files`, token });

describe("app folder listings are paged like the real server", () => {
  it("the stand-in answers one page and 404 past the end", async () => {
    const url = (q: string) => `${server.url}/${WS}/artifacts/${APP}/files/many/?use_proxy=true${q}`;
    const first = (await (await fetch(url(""), { headers: { authorization: `Bearer ${token}` } })).json()) as unknown[];
    expect(first).toHaveLength(LISTING_PAGE_SIZE);
    expect(first[0]).toMatchObject({ type: "file", size: 2 });
    const past = await fetch(url("&offset=5000"), { headers: { authorization: `Bearer ${token}` } });
    expect(past.status).toBe(404);
  });

  it("lists all 1002 entries of a folder larger than one page", async () => {
    const entries = await source().listFolder("many/");
    expect(entries.filter((e) => e.type === "file")).toHaveLength(LISTING_PAGE_SIZE + 1);
    expect(entries).toContainEqual({ name: "sub", type: "directory" });
  });

  it("ends cleanly when the last page is exactly full", async () => {
    const entries = await source().listFolder("exact/");
    expect(entries).toHaveLength(LISTING_PAGE_SIZE);
  });

  it("still reports a missing folder", async () => {
    await expect(source().listFolder("nope/")).rejects.toThrow(/no folder "nope\/"/);
  });
});

describe("S3 folder markers", () => {
  it("skips the nameless zero-byte entry an S3 folder marker lists as, and keeps refusing bad names", async () => {
    const listing = (body: unknown[]) => async () => new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/json" } });
    const marker = createHttpFileSource({ baseUrl: "http://h/ws/artifacts/a/files", token: "t", fetchImpl: listing([{ type: "file", name: "", size: 0 }, { type: "file", name: "a.txt", size: 1 }]) as typeof fetch });
    expect(await marker.listFolder("d/")).toEqual([{ name: "a.txt", type: "file", size: 1 }]);
    const climbing = createHttpFileSource({ baseUrl: "http://h/ws/artifacts/a/files", token: "t", fetchImpl: listing([{ type: "directory", name: "" }]) as typeof fetch });
    await expect(climbing.listFolder("d/")).rejects.toThrow(/Refusing/);
  });
});
