/**
 * `hypha-conda-worker lock <app-dir>` (built CLI): writes hypha-conda.lock.json into the app directory,
 * text and --json output; `prewarm` of the locked app builds from the lock with no solve, and a lock made
 * under another channel map is refused with how to re-lock.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cp, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { app, creates, makeSandbox, type Sandbox } from "./operator-sandbox.js";
import { formatLock, parseLock, LOCK_FILE_NAME } from "../../src/env/lock/lock-file.js";

let box: Sandbox;
let appDir: string;
beforeEach(async () => {
  box = await makeSandbox();
  appDir = join(box.dir, "tiny");
  await cp(app("tiny"), appDir, { recursive: true });
});
afterEach(async () => {
  await box.cleanup();
});

describe("hypha-conda-worker lock", () => {
  it("writes the lock (text output), and prewarm then builds the locked app without solving", async () => {
    const r = await box.cli(["lock", appDir]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^locked 3 conda and 0 pip package\(s\) for \S+ with /);
    expect(r.stdout).toContain("tinylib 2.0 py_0");
    expect(r.stdout).toContain(`wrote ${join(appDir, LOCK_FILE_NAME)}`);
    const lock = parseLock(await readFile(join(appDir, LOCK_FILE_NAME), "utf8"));
    expect(lock.conda.map((p) => p.name).sort()).toEqual(["pip", "python", "tinylib"]);
    // The lock solve is a dry run: it created nothing.
    if (box.isFake) expect(creates(box.invocations()).every((i) => i.argv.includes("--dry-run"))).toBe(true);

    const before = box.invocations().length;
    const warm = await box.cli(["prewarm", appDir, "--json"]);
    expect(warm.exitCode, warm.stderr).toBe(0);
    const line = JSON.parse(warm.stdout) as { status: string; hash: string };
    expect(line.status).toBe("created");
    expect(warm.stderr).toContain("from its lock");
    if (box.isFake) {
      const made = creates(box.invocations().slice(before));
      expect(made).toHaveLength(1);
      expect(made[0]!.argv).toContain("--file");
      expect(made[0]!.argv).not.toContain("--dry-run");
    }
  });

  it("--json prints the lock summary; the env hash is what prewarm builds", async () => {
    const r = await box.cli(["lock", appDir, "--json"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { path: string; hash: string; specHash: string; conda: Array<{ url: string }>; pip: unknown[] };
    expect(doc.path).toBe(join(appDir, LOCK_FILE_NAME));
    expect(doc.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(doc.hash).not.toBe(doc.specHash);
    expect(doc.conda.every((p) => p.url.startsWith(box.target.channelUrl))).toBe(true);
    const warm = await box.cli(["prewarm", appDir, "--json"]);
    expect((JSON.parse(warm.stdout) as { hash: string }).hash).toBe(doc.hash);
  });

  it("a lock made under another channel map is refused by prewarm with how to re-lock; --lock-mismatch spec builds the spec", async () => {
    expect((await box.cli(["lock", appDir])).exitCode).toBe(0);
    // As a worker whose --channel-map sent conda-forge to another mirror would have written it.
    const file = join(appDir, LOCK_FILE_NAME);
    const lock = parseLock(await readFile(file, "utf8"));
    await writeFile(file, formatLock({ ...lock, channels: ["https://mirror.example/conda-forge"] }));
    const other: string[] = [];
    const refused = await box.cli(["prewarm", appDir, "--json", ...other]);
    expect(refused.exitCode).toBe(1);
    expect(JSON.parse(refused.stdout).error).toMatch(/made for channels .* re-lock/);
    const fallback = await box.cli(["prewarm", appDir, "--json", ...other, "--lock-mismatch", "spec"]);
    expect(fallback.exitCode, fallback.stderr).toBe(0);
    expect(fallback.stderr).toContain("--lock-mismatch spec");
  });

  it("needs exactly one app directory", async () => {
    const r = await box.cli(["lock"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("give exactly one app directory");
  });
});
