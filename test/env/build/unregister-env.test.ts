/**
 * The worker's envs never stay in the operator's ~/.conda/environments.txt, even under libmamba 2.8, which
 * registers every env it creates whatever the setting (measured on micromamba/mamba 2.8.1).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { promises as fs } from "node:fs";
import path from "node:path";
import { environmentsFileFor, unregisterEnv } from "../../../src/env/build/unregister-env.js";
import { makeManager, makeSpec, makeTestCache, type TestCache } from "../support/env-fixtures.js";

let cache: TestCache;
let home: string;
let listFile: string;
beforeEach(async () => {
  cache = await makeTestCache("hcw-unregister-");
  home = path.join(cache.dir, "operator-home");
  listFile = path.join(home, ".conda", "environments.txt");
  await fs.mkdir(path.dirname(listFile), { recursive: true });
});
afterEach(async () => {
  await cache.cleanup();
});

describe("unregisterEnv", () => {
  it("removes only the prefix's line, with or without a trailing slash, and keeps the others in order and the file's mode", async () => {
    await fs.writeFile(listFile, "/home/op/miniforge3\n/cache/envs/abc/\n/home/op/envs/mine\n/cache/envs/abcd\n", { mode: 0o640 });
    await unregisterEnv(listFile, "/cache/envs/abc");
    expect(await fs.readFile(listFile, "utf8")).toBe("/home/op/miniforge3\n/home/op/envs/mine\n/cache/envs/abcd\n");
    expect((await fs.stat(listFile)).mode & 0o777).toBe(0o640);
    expect((await fs.readdir(path.dirname(listFile))).sort()).toEqual(["environments.txt"]);
  });

  it("leaves a file without the prefix untouched, and a missing file missing", async () => {
    await fs.writeFile(listFile, "/home/op/envs/mine\n");
    const before = await fs.stat(listFile);
    await unregisterEnv(listFile, "/cache/envs/abc");
    expect((await fs.stat(listFile)).mtimeMs).toBe(before.mtimeMs);
    await unregisterEnv(path.join(home, "nowhere", "environments.txt"), "/cache/envs/abc");
    await expect(fs.access(path.join(home, "nowhere"))).rejects.toThrow();
  });

  it("writes through a symlinked environments.txt, keeping the link", async () => {
    const real = path.join(home, "shared-environments.txt");
    await fs.writeFile(real, "/cache/envs/abc\n/home/op/envs/mine\n");
    await fs.symlink(real, listFile);
    await unregisterEnv(listFile, "/cache/envs/abc");
    expect((await fs.lstat(listFile)).isSymbolicLink()).toBe(true);
    expect(await fs.readFile(real, "utf8")).toBe("/home/op/envs/mine\n");
  });

  it("two removals at once both hold: neither puts the other's line back", async () => {
    const prefixes = Array.from({ length: 8 }, (_, i) => `/cache/envs/e${i}`);
    await fs.writeFile(listFile, ["/home/op/envs/mine", ...prefixes, ""].join("\n"));
    await Promise.all(prefixes.map((p) => unregisterEnv(listFile, p)));
    expect(await fs.readFile(listFile, "utf8")).toBe("/home/op/envs/mine\n");
  });

  it("reads the HOME the tool is given, else the account's home", () => {
    expect(environmentsFileFor({ HOME: "/home/op" })).toBe("/home/op/.conda/environments.txt");
    expect(environmentsFileFor({})).toMatch(/\/\.conda\/environments\.txt$/);
  });
});

describe("a create under libmamba 2.8 (which always registers the env)", () => {
  it("leaves the operator's environments.txt as it was", async () => {
    await fs.writeFile(listFile, "/home/op/envs/mine\n");
    const manager = makeManager(cache, { knobs: { version: "2.8.1", home } });
    const created = await manager.ensureEnv(makeSpec(["python"]));
    expect(await fs.readFile(listFile, "utf8")).toBe("/home/op/envs/mine\n");
    expect(created.prefix.length).toBeGreaterThan(0);
  });
});
