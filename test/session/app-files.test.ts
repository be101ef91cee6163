import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkRelativePath, createDirectoryFileSource, createHttpFileSource } from "../../src/session/app-files.js";
import { makeTempRoot } from "../support/session-doubles.js";

const TOKEN = "app-token-abcdef";
const FILES: Record<string, string> = { "main.py": "print('hi')\n", "data/a.txt": "A", "data/sub/b.txt": "B", "odd name.txt": "odd" };
const requests: string[] = [];
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url!, "http://x");
    requests.push(`${req.headers.authorization ?? "-"} ${url.pathname}${url.search}`);
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return void res.writeHead(403).end("forbidden");
    if (url.searchParams.get("use_proxy") !== "true") return void res.writeHead(400).end("use_proxy missing");
    const prefix = "/ws/artifacts/app/files/";
    if (!url.pathname.startsWith(prefix)) return void res.writeHead(404).end();
    const rel = decodeURIComponent(url.pathname.slice(prefix.length));
    if (rel === "evil/") return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify([{ name: "..", type: "file" }]));
    if (rel === "" || rel.endsWith("/")) {
      const children = new Map<string, { name: string; type: string; size?: number }>();
      for (const [file, body] of Object.entries(FILES)) {
        if (!file.startsWith(rel)) continue;
        const rest = file.slice(rel.length).split("/");
        children.set(rest[0]!, rest.length > 1 ? { name: rest[0]!, type: "directory" } : { name: rest[0]!, type: "file", size: body.length });
      }
      if (children.size === 0) return void res.writeHead(404).end();
      return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify([...children.values()]));
    }
    const body = FILES[rel];
    if (body === undefined) return void res.writeHead(404).end();
    res.writeHead(200).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ws/artifacts/app/files`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("HTTP app file source", () => {
  it("fetches files with the Bearer token and ?use_proxy=true", async () => {
    const source = createHttpFileSource({ baseUrl: `${base}/`, token: TOKEN });
    expect((await source.readFile("main.py"))?.toString()).toBe("print('hi')\n");
    expect((await source.readFile("odd name.txt"))?.toString()).toBe("odd");
    expect(await source.readFile("missing.py")).toBeUndefined();
    expect(requests).toContain(`Bearer ${TOKEN} /ws/artifacts/app/files/main.py?use_proxy=true`);
    expect(requests).toContain(`Bearer ${TOKEN} /ws/artifacts/app/files/odd%20name.txt?use_proxy=true`);
  });

  it("lists folders through the JSON listing", async () => {
    const source = createHttpFileSource({ baseUrl: base, token: TOKEN });
    expect(await source.listFolder("data/")).toEqual([
      { name: "a.txt", type: "file", size: 1 },
      { name: "sub", type: "directory" },
    ]);
    expect(requests).toContain(`Bearer ${TOKEN} /ws/artifacts/app/files/data/?use_proxy=true&limit=1000&offset=0`);
    await expect(source.listFolder("nothing/")).rejects.toThrow(/no folder "nothing\/"/);
  });

  it("refuses listed names that climb out", async () => {
    const source = createHttpFileSource({ baseUrl: base, token: TOKEN });
    await expect(source.listFolder("evil/")).rejects.toThrow(/Refusing the entry "\.\."/);
  });

  it("reports a refused token without printing it", async () => {
    const source = createHttpFileSource({ baseUrl: base, token: "wrong-token-xyz" });
    const error = await source.readFile("main.py").catch((e: Error) => e);
    expect(String(error)).toMatch(/HTTP 403/);
    expect(String(error)).not.toContain("wrong-token-xyz");
  });

  it("enforces the size limit", async () => {
    const source = createHttpFileSource({ baseUrl: base, token: TOKEN, maxFileBytes: 4 });
    await expect(source.readFile("main.py")).rejects.toThrow(/larger than the limit of 4 bytes/);
  });

  it("refuses unsafe paths before any request", async () => {
    const source = createHttpFileSource({ baseUrl: base, token: TOKEN });
    const before = requests.length;
    for (const bad of ["../x", "/etc/passwd", "a/../../b", "a\0b", "a\\b", "./a"]) {
      await expect(source.readFile(bad)).rejects.toThrow(/Refusing/);
    }
    expect(requests.length).toBe(before);
  });
});

describe("directory app file source", () => {
  it("reads and lists files, refusing symlinks that leave the folder", async () => {
    const root = makeTempRoot("hcw-dirsrc-");
    try {
      const app = path.join(root.dir, "app");
      mkdirSync(path.join(app, "data"), { recursive: true });
      writeFileSync(path.join(app, "main.py"), "x");
      writeFileSync(path.join(app, "data", "a.txt"), "A");
      writeFileSync(path.join(root.dir, "secret.txt"), "S");
      symlinkSync(path.join(root.dir, "secret.txt"), path.join(app, "link.txt"));
      const source = createDirectoryFileSource(app);
      expect((await source.readFile("main.py"))?.toString()).toBe("x");
      expect(await source.readFile("nope.py")).toBeUndefined();
      expect(await source.listFolder("data/")).toEqual([{ name: "a.txt", type: "file", size: 1 }]);
      await expect(source.readFile("link.txt")).rejects.toThrow(/symlink that leads outside/);
      await expect(source.readFile("../secret.txt")).rejects.toThrow(/Refusing/);
    } finally {
      root.cleanup();
    }
  });
});

describe("checkRelativePath", () => {
  it("accepts nested paths and folders", () => {
    expect(checkRelativePath("a/b/c.py")).toEqual(["a", "b", "c.py"]);
    expect(checkRelativePath("dir/")).toEqual(["dir"]);
  });
});
