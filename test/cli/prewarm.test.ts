import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { itFakeOnly } from "../support/package-manager-target.js";
import { app, CLI, creates, envFile, makeSandbox, PREWARM_SCRIPT, type Sandbox } from "./operator-sandbox.js";
import { isPidAlive } from "../../src/pid.js";

let box: Sandbox;
beforeEach(async () => {
  box = await makeSandbox();
});
afterEach(async () => {
  await box.cleanup();
});

const parseLines = (stdout: string) => stdout.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>);
const KEYS = ["source", "hash", "prefix", "status", "seconds", "packageManager"];

describe("hypha-conda-worker prewarm (built CLI, fake micromamba or the real tool)", () => {
  it("--json prints exactly one JSON object per source; a second run is all cached with no package-manager process", async () => {
    const sources = [app("tiny"), app("tiny-copy"), envFile()];
    const first = await box.cli(["prewarm", ...sources, "--json"]);
    expect(first.exitCode).toBe(0);
    const lines = parseLines(first.stdout);
    expect(lines).toHaveLength(3);
    for (const [i, line] of lines.entries()) {
      expect(Object.keys(line)).toEqual(KEYS);
      expect(line).toMatchObject({ source: sources[i], status: "created", hash: expect.stringMatching(/^[0-9a-f]{64}$/), prefix: expect.stringContaining(box.cacheDir) });
      expect(line.packageManager).toEqual({ name: box.target.name, version: expect.any(String), path: box.options.packageManager });
      expect(typeof line.seconds).toBe("number");
    }
    // Same spec given twice: built once.
    if (box.isFake) expect(creates(box.invocations())).toHaveLength(2);
    // Progress went to stderr, not stdout.
    expect(first.stderr).toContain("cache miss");

    const logged = box.invocations().length;
    const second = await box.cli(["prewarm", ...sources, "--json"]);
    expect(second.exitCode).toBe(0);
    expect(parseLines(second.stdout).map((l) => l.status)).toEqual(["cached", "cached", "cached"]);
    expect(parseLines(second.stdout).map((l) => (l.packageManager as { name: string }).name)).toEqual([box.target.name, box.target.name, box.target.name]);
    if (box.isFake) expect(box.invocations()).toHaveLength(logged);
  });

  it("exits 1 when any env fails, with an error field, and still builds the rest", async () => {
    const r = await box.cli(["prewarm", app("missing"), app("jsonapp"), "--json", "--concurrency", "1"]);
    expect(r.exitCode).toBe(1);
    const [failed, ok] = parseLines(r.stdout);
    expect(failed).toMatchObject({ status: "failed", prefix: null, error: expect.stringContaining("doesnotexist") });
    expect(Object.keys(failed!)).toContain("error");
    expect(ok).toMatchObject({ status: "created" });
    expect(ok).not.toHaveProperty("error");
  });

  it("prints readable results without --json", async () => {
    const r = await box.cli(["prewarm", app("tiny")]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^created [0-9a-f]{12} /m);
    expect(r.stdout).toContain("1 of 1 env(s) ready");
  });

  it("refuses bad usage: no sources (exit 2) and a bad --concurrency (exit 1, names the flag)", async () => {
    const none = await box.cli(["prewarm"]);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toContain("give at least one app directory");
    const bad = await box.cli(["prewarm", app("tiny"), "--concurrency", "0"]);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain("--concurrency");
    expect(box.invocations()).toEqual([]);
  });
});

const isAlive = isPidAlive;

describe("interrupting prewarm", () => {
  itFakeOnly("SIGTERM stops the running create, removes its partial env, skips the rest and exits 130", async () => {
    const child = execa(process.execPath, [CLI, "prewarm", app("tiny"), envFile(), "--json", "--concurrency", "1", ...box.flags], {
      env: { ...box.env, FAKE_PM_DELAY_MS: "5000" },
      extendEnv: false,
      reject: false,
    });
    try {
      // Wait (bounded by the test timeout) until the tool is creating the first env.
      while (creates(box.invocations()).length === 0) await sleep(50);
      await sleep(200);
      child.kill("SIGTERM");
      const r = await child;
      expect(r.exitCode).toBe(130);
      const lines = String(r.stdout).split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.map((l) => l.status)).toEqual(["failed", "failed"]);
      expect(lines[1]!.error).toContain("interrupted by SIGTERM");
      expect(creates(box.invocations())).toHaveLength(1);
      const toolPid = creates(box.invocations())[0]!.pid;
      expect(isAlive(toolPid)).toBe(false);
      expect((await readdir(join(box.cacheDir, "envs"))).filter((n) => !n.startsWith("."))).toEqual([]);
    } finally {
      child.kill("SIGKILL");
    }
  }, 30_000);
});

describe("scripts/prewarm", () => {
  it("is an executable over the same command: same JSON lines, same exit codes", async () => {
    const r = await execa(PREWARM_SCRIPT, [app("tiny"), "--json", ...box.flags], { env: box.env, extendEnv: false, reject: false });
    expect(r.exitCode).toBe(0);
    expect(parseLines(r.stdout)).toEqual([expect.objectContaining({ source: app("tiny"), status: "created" })]);
    const again = await execa(PREWARM_SCRIPT, [app("tiny"), "--json", ...box.flags], { env: box.env, extendEnv: false, reject: false });
    expect(parseLines(again.stdout)[0]).toMatchObject({ status: "cached" });
    const help = await execa(PREWARM_SCRIPT, ["--help"], { env: box.env, extendEnv: false, reject: false });
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain("Usage: hypha-conda-worker prewarm");
    const usage = await execa(PREWARM_SCRIPT, [], { env: box.env, extendEnv: false, reject: false });
    expect(usage.exitCode).toBe(2);
  });
});
