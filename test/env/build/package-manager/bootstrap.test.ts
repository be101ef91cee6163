import { createHash } from "node:crypto";
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { bootstrapMicromamba, MICROMAMBA_RELEASE_URL, MICROMAMBA_VERSION } from "../../../../src/env/build/package-manager/bootstrap.js";
import { WorkerError } from "../../../../src/errors.js";
import type { ProgressEvent } from "../../../../src/progress.js";

const FAKE_BINARY = Buffer.from("#!/bin/sh\necho 2.9.0\n");
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

// Routes: /good (binary + right checksum), /bad (wrong checksum), /missing (404), /nosum (binary, no .sha256).
const routes = new Map<string, { status: number; body: Buffer | string }>([
  ["/good/micromamba-linux-64", { status: 200, body: FAKE_BINARY }],
  ["/good/micromamba-linux-64.sha256", { status: 200, body: `${sha(FAKE_BINARY)}  micromamba-linux-64\n` }],
  ["/bad/micromamba-linux-64", { status: 200, body: FAKE_BINARY }],
  ["/bad/micromamba-linux-64.sha256", { status: 200, body: `${"0".repeat(64)}\n` }],
  ["/nosum/micromamba-linux-64", { status: 200, body: FAKE_BINARY }],
]);
const requests: string[] = [];
let server: http.Server;
let base: string;
const dirs: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests.push(req.url ?? "");
    const route = routes.get(req.url ?? "");
    res.statusCode = route?.status ?? 404;
    res.end(route?.body ?? "not found");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function cacheDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "hcw-bootstrap-"));
  dirs.push(dir);
  return dir;
}

async function failure(promise: Promise<unknown>): Promise<WorkerError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(WorkerError);
  expect((error as WorkerError).code).toBe("E_BOOTSTRAP");
  return error as WorkerError;
}

async function leftovers(dir: string): Promise<string[]> {
  return readdir(path.join(dir, "bin")).catch(() => []);
}

describe("bootstrapMicromamba", () => {
  test("downloads, verifies, installs 0755 and announces progress", async () => {
    const dir = await cacheDir();
    const events: ProgressEvent[] = [];
    const bin = await bootstrapMicromamba({ cacheDir: dir, baseUrl: `${base}/good/`, platform: "linux-64", onProgress: (e) => events.push(e) });
    expect(bin).toBe(path.join(dir, "bin", "micromamba"));
    expect(await readFile(bin)).toEqual(FAKE_BINARY);
    expect((await stat(bin)).mode & 0o777).toBe(0o755);
    const { stdout } = await promisify(execFile)(bin, ["--version"]);
    expect(stdout.trim()).toBe("2.9.0");
    expect(events[0]).toMatchObject({ phase: "bootstrapping", type: "info", message: `bootstrapping micromamba ${MICROMAMBA_VERSION} from ${base}/good/micromamba-linux-64` });
    expect(events.at(-1)).toMatchObject({ phase: "bootstrapping", type: "success" });
    expect((await leftovers(dir)).sort()).toEqual(["micromamba", "micromamba.json"]);
  });

  test("a verified copy is reused without downloading", async () => {
    const dir = await cacheDir();
    await bootstrapMicromamba({ cacheDir: dir, baseUrl: `${base}/good`, platform: "linux-64" });
    const before = requests.length;
    expect(await bootstrapMicromamba({ cacheDir: dir, baseUrl: `${base}/good`, platform: "linux-64" })).toBe(path.join(dir, "bin", "micromamba"));
    expect(requests.length).toBe(before);
  });

  test("concurrent bootstraps into one cache all succeed and leave one intact binary", async () => {
    const dir = await cacheDir();
    const paths = await Promise.all(Array.from({ length: 4 }, () => bootstrapMicromamba({ cacheDir: dir, baseUrl: `${base}/good`, platform: "linux-64" })));
    expect(new Set(paths).size).toBe(1);
    expect(await readFile(paths[0]!)).toEqual(FAKE_BINARY);
    expect((await leftovers(dir)).sort()).toEqual(["micromamba", "micromamba.json"]);
  });

  test("checksum mismatch: clear error, nothing left behind", async () => {
    const dir = await cacheDir();
    const error = await failure(bootstrapMicromamba({ cacheDir: dir, baseUrl: `${base}/bad`, platform: "linux-64" }));
    expect(error.message).toContain(sha(FAKE_BINARY));
    expect(error.message).toContain("0".repeat(64));
    expect(error.message).toMatch(/nothing was installed/);
    expect(await leftovers(dir)).toEqual([]);
  });

  test("404: clear error naming the URL, nothing left behind", async () => {
    const dir = await cacheDir();
    const error = await failure(bootstrapMicromamba({ cacheDir: dir, baseUrl: `${base}/missing`, platform: "linux-64" }));
    expect(error.message).toContain("HTTP 404");
    expect(error.message).toContain(`${base}/missing/micromamba-linux-64`);
    expect(await leftovers(dir)).toEqual([]);
  });

  test("a missing .sha256 is refused: no unverified binary is installed", async () => {
    const dir = await cacheDir();
    const error = await failure(bootstrapMicromamba({ cacheDir: dir, baseUrl: `${base}/nosum`, platform: "linux-64" }));
    expect(error.message).toContain(".sha256");
    expect(await leftovers(dir)).toEqual([]);
  });

  test("an operator-pinned checksum must match the published one", async () => {
    const dir = await cacheDir();
    const error = await failure(bootstrapMicromamba({ cacheDir: dir, baseUrl: `${base}/good`, platform: "linux-64", expectedSha256: "1".repeat(64) }));
    expect(error.message).toMatch(/operator-pinned/);
    expect(await bootstrapMicromamba({ cacheDir: dir, baseUrl: `${base}/good`, platform: "linux-64", expectedSha256: sha(FAKE_BINARY) })).toBe(path.join(dir, "bin", "micromamba"));
  });

  test("the official location is checked against the pinned table, not only its own .sha256", async () => {
    const dir = await cacheDir();
    const seen: string[] = [];
    // A host that agrees with itself: binary and .sha256 match each other but not the pinned release.
    const fetchImpl = (async (input: string | URL | Request) => {
      const url = String(input);
      seen.push(url);
      if (url.endsWith(".sha256")) return new Response(sha(FAKE_BINARY));
      return new Response(FAKE_BINARY);
    }) as typeof fetch;
    const error = await failure(bootstrapMicromamba({ cacheDir: dir, platform: "linux-64", fetchImpl }));
    expect(seen[0]).toBe(`${MICROMAMBA_RELEASE_URL}/micromamba-linux-64.sha256`);
    expect(error.message).toMatch(/pinned/);
    expect(await leftovers(dir)).toEqual([]);
  });

  test("HYPHA_CONDA_MICROMAMBA_URL is used when no baseUrl is given", async () => {
    const dir = await cacheDir();
    const saved = process.env.HYPHA_CONDA_MICROMAMBA_URL;
    process.env.HYPHA_CONDA_MICROMAMBA_URL = `${base}/good`;
    try {
      expect(await bootstrapMicromamba({ cacheDir: dir, platform: "linux-64" })).toBe(path.join(dir, "bin", "micromamba"));
    } finally {
      if (saved === undefined) delete process.env.HYPHA_CONDA_MICROMAMBA_URL;
      else process.env.HYPHA_CONDA_MICROMAMBA_URL = saved;
    }
  });

  test("bad URLs and platforms are refused before any download", async () => {
    const dir = await cacheDir();
    const before = requests.length;
    const creds = await failure(bootstrapMicromamba({ cacheDir: dir, baseUrl: "https://user:secret@mirror.example/mm", platform: "linux-64" }));
    expect(creds.message).not.toContain("secret");
    await failure(bootstrapMicromamba({ cacheDir: dir, baseUrl: "file:///tmp/mm", platform: "linux-64" }));
    await failure(bootstrapMicromamba({ cacheDir: dir, baseUrl: `${base}/good`, platform: "solaris-sparc" }));
    expect(requests.length).toBe(before);
    expect(await leftovers(dir)).toEqual([]);
  });
});
