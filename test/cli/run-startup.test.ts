/**
 * What a warm `run` loads and leaves behind (issue 12): a cached env and a memoised manifest must not load
 * execa, yaml, the Hypha client (hypha-rpc, ws), the archive code (tar) or proper-lockfile, and the process must exit as soon
 * as the app is done: no timer may still be pending when the command returns. Runs the built CLI's main()
 * from a script that records every module loaded (ESM through a loader hook, CommonJS through require.cache).
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fakeCliEnv } from "../support/fake-pm.js";
import { manifestMemoDir } from "../../src/cli/manifest-memo.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CLI = path.join(ROOT, "dist", "cli.js");
const HELLO = path.join(ROOT, "fixtures", "apps", "hello");

let tmp: string;
let env: Record<string, string>;
let preload: string;
let loadedLog: string;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' (npm test does it)`);
  tmp = await mkdtemp(path.join(os.tmpdir(), "hcw-run-startup-"));
  env = fakeCliEnv(tmp);
  loadedLog = path.join(tmp, "loaded.txt");
  const hook = path.join(tmp, "record-hook.mjs");
  writeFileSync(hook, `import { appendFileSync } from "node:fs";\nexport async function load(url, context, next) { appendFileSync(${JSON.stringify(loadedLog)}, url + "\\n"); return next(url, context); }\n`);
  // Runs the CLI's main() as dist/cli.js does, then records what is still pending the moment it returned.
  preload = path.join(tmp, "run-main.mjs");
  writeFileSync(
    preload,
    [
      `import { register, createRequire } from "node:module";`,
      `import { appendFileSync } from "node:fs";`,
      `register(${JSON.stringify(pathToFileURL(hook).href)});`,
      `const { main } = await import(${JSON.stringify(pathToFileURL(path.join(ROOT, "dist", "cli", "main.js")).href)});`,
      `const code = await main(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr, isTTY: false });`,
      `appendFileSync(${JSON.stringify(loadedLog)}, "PENDING " + JSON.stringify(process.getActiveResourcesInfo()) + "\\n");`,
      `appendFileSync(${JSON.stringify(loadedLog)}, Object.keys(createRequire(import.meta.url).cache).join("\\n") + "\\n");`,
      `process.exitCode = code;`,
    ].join("\n"),
  );
  // The first run builds the env and writes the manifest memo.
  const first = await execa(process.execPath, [CLI, "run", HELLO], { env, extendEnv: false, reject: false, stdin: "ignore", timeout: 120_000 });
  expect(first.exitCode, String(first.stderr)).toBe(0);
}, 180_000);

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("a warm run", () => {
  it("memoises the parsed manifest in the cache", () => {
    const dir = manifestMemoDir(path.join(tmp, "cache"));
    const entries = readdirSync(dir).filter((name) => name.endsWith(".json"));
    expect(entries).toHaveLength(1);
    const entry = JSON.parse(readFileSync(path.join(dir, entries[0]!), "utf8")) as { parsed: Record<string, unknown> };
    expect(entry.parsed).toMatchObject({ type: "conda-python", id: "hello", entry_point: "main.py" });
  });

  it("loads no execa, yaml, hypha-rpc, ws, tar or proper-lockfile, and leaves nothing pending when the app is done", async () => {
    const r = await execa(process.execPath, [preload, "run", HELLO], { env, extendEnv: false, reject: false, stdin: "ignore", timeout: 120_000 });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stdout)).toContain("Hello from hypha-conda-worker!");
    const loaded = readFileSync(loadedLog, "utf8").split("\n");
    expect(loaded.some((line) => line.includes("/dist/cli/run.js"))).toBe(true);
    const heavy = loaded.filter((line) => /node_modules\/(execa|yaml|hypha-rpc|ws|tar|proper-lockfile)\//.test(line));
    expect(heavy).toEqual([]);
    const pending = loaded.filter((line) => line.startsWith("PENDING "));
    expect(pending).toHaveLength(1);
    expect(JSON.parse(pending[0]!.slice(8))).not.toContain("Timeout");
  }, 120_000);
});
