/**
 * `run` end to end on the built CLI (`node dist/cli.js`, built by `npm test`): every fixture app against the
 * fake package manager and the fixture channel (one shared cache, so each env is built once), `--call`
 * through the local bridge and through Hypha, signals, and bad input.
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa, type ResultPromise } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../src/cli/main.js";
import { UsageError } from "../../src/errors.js";
import { describeCallError, formatCallResult, parseCallTarget } from "../../src/cli/run-call.js";
import { connectToHypha, type HyphaServer } from "../../src/hypha/connect.js";
import { fakeCliEnv } from "../support/fake-pm.js";
import { openServerTarget, type ServerTarget } from "../support/server-target.js";
import { isPidAlive } from "../../src/pid.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
// The built CLI, not vite-node: vite installs its own SIGTERM handler.
const CLI = path.join(ROOT, "dist", "cli.js");
const APPS = path.join(ROOT, "fixtures", "apps");

let tmp: string;
let env: Record<string, string>;
const running: ResultPromise[] = [];

interface Result {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
}

async function runCli(args: string[], extraEnv: Record<string, string> = {}): Promise<Result> {
  const r = await execa(process.execPath, [CLI, "run", ...args], { env: { ...env, ...extraEnv }, extendEnv: false, reject: false, stdin: "ignore", cwd: ROOT, timeout: 120_000 });
  return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** Starts `run` in the background; resolves once `pattern` appears on stdout or stderr. */
function startCli(args: string[]): { child: ResultPromise; output: () => { stdout: string; stderr: string }; waitFor(pattern: RegExp): Promise<RegExpMatchArray> } {
  const child = execa(process.execPath, [CLI, "run", ...args], { env, extendEnv: false, reject: false, stdin: "ignore", cwd: ROOT, buffer: false });
  running.push(child);
  let stdout = "";
  let stderr = "";
  const listeners = new Set<() => void>();
  child.stdout!.on("data", (chunk: Buffer) => { stdout += chunk.toString(); listeners.forEach((l) => l()); });
  child.stderr!.on("data", (chunk: Buffer) => { stderr += chunk.toString(); listeners.forEach((l) => l()); });
  return {
    child,
    output: () => ({ stdout, stderr }),
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(stdout) ?? pattern.exec(stderr);
          if (match) {
            listeners.delete(check);
            resolve(match);
          }
        };
        listeners.add(check);
        check();
        void child.then((r) => reject(new Error(`run exited (${r.exitCode}) before ${pattern}:\n${stdout}\n${stderr}`)));
      }),
  };
}

const isAlive = isPidAlive;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npx tsc -p tsconfig.json && node scripts/copy-assets.mjs' (npm test does it)`);
  tmp = await mkdtemp(path.join(os.tmpdir(), "hcw-run-"));
  // Nothing of the developer's own Hypha settings may leak into these runs.
  env = fakeCliEnv(tmp);
});

afterAll(async () => {
  // Tests await their own runs; this only catches a run left behind by a failed assertion.
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  await rm(tmp, { recursive: true, force: true });
});

// Each test runs its own CLI process; running them side by side keeps the file fast.
describe.concurrent("run: fixture apps in local mode", () => {
  it("hello: exit 0, its output on stdout, progress on stderr", async () => {
    const r = await runCli([path.join(APPS, "hello")]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("Hello from hypha-conda-worker!");
    expect(r.stdout).toMatch(/app hello in workspace local/);
    expect(r.stderr).toMatch(/running: App hello is running/);
    expect(r.stdout).not.toMatch(/running: App/);
  });

  it("failing: exit 1 with the traceback on stderr", async () => {
    const r = await runCli([path.join(APPS, "failing", "manifest.yaml")]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain("about to fail");
    expect(r.stderr).toMatch(/Traceback \(most recent call last\)/);
    expect(r.stderr).toMatch(/RuntimeError: failing fixture: this app fails on purpose/);
    expect(r.stderr).toMatch(/error: The app exited with exit code 1/);
  });

  it("counter: serves until SIGINT, then stops the app cleanly and exits 130", async () => {
    const run = startCli([path.join(APPS, "counter"), "--env", "COUNTER_INTERVAL=0.1"]);
    const [, pid] = await run.waitFor(/counter started \(pid (\d+)\)/);
    await run.waitFor(/count 3/);
    expect(isAlive(Number(pid))).toBe(true);
    run.child.kill("SIGINT");
    const result = await run.child;
    expect(result.exitCode).toBe(130);
    expect(run.output().stdout).toMatch(/counter stopped at \d+/);
    expect(run.output().stderr).toMatch(/SIGINT: stopping the app/);
    expect(isAlive(Number(pid))).toBe(false);
  });

  it("a closed stdout (run ... | head) stops the app cleanly instead of crashing: exit 141", async () => {
    const run = startCli([path.join(APPS, "counter"), "--env", "COUNTER_INTERVAL=0.05"]);
    const [, pid] = await run.waitFor(/counter started \(pid (\d+)\)/);
    run.child.stdout!.destroy();
    const result = await run.child;
    expect(result.exitCode).toBe(141);
    expect(run.output().stderr).toMatch(/SIGPIPE: stopping the app/);
    expect(run.output().stderr).not.toMatch(/EPIPE|Node\.js v/);
    expect(isAlive(Number(pid))).toBe(false);
  });

  it("service --call default.add '[1, 2]' prints 3 and only 3 on stdout", async () => {
    const r = await runCli([path.join(APPS, "service"), "--call", "default.add", "[1, 2]"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("3");
    // The app's own stdout moved to stderr so that stdout stays parseable. (Its "serving ..." line comes after
    // the registration and may lose the race with the stop; the line before connecting cannot.)
    expect(r.stderr).toMatch(/connecting to Hypha as service-[0-9a-f]+/);
  });

  it("--call passes JSON values through the bridge and into async functions", async () => {
    const echo = await runCli([path.join(APPS, "service"), "--call", "default.echo", '[{"a": [1, "x", null, true]}]']);
    expect(echo.exitCode).toBe(0);
    expect(JSON.parse(echo.stdout)).toEqual({ a: [1, "x", null, true] });
    const asyncAdd = await runCli([path.join(APPS, "service"), "--call", "default.add_async", "[40, 2, 0.01]"]);
    expect(asyncAdd.exitCode).toBe(0);
    expect(asyncAdd.stdout).toBe("42");
  });

  it("a call that raises exits 1 with the Python error type and message", async () => {
    const r = await runCli([path.join(APPS, "service"), "--call", "default.fail", '["boom from the test"]']);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/error: the call default.fail failed: ValueError: boom from the test/);
    expect(r.stderr).toMatch(/raise ValueError\(message\)/);
  });

  it("get_service from the app fails clearly without a Hypha server", async () => {
    const r = await runCli([path.join(APPS, "service"), "--call", "default.other_service", '["ws/client:helper"]']);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/no Hypha server in local mode/);
  });

  it("--call on an app that never registers the service ends with a clear error", async () => {
    const ended = await runCli([path.join(APPS, "hello"), "--call", "default.add", "[1, 2]"]);
    expect(ended.exitCode).toBe(1);
    expect(ended.stderr).toMatch(/ended.*before it registered service "default"|before registering service "default"/);
    const timedOut = await runCli([path.join(APPS, "counter"), "--call", "default.add", "--timeout", "1"]);
    expect(timedOut.exitCode).toBe(1);
    expect(timedOut.stderr).toMatch(/did not register service "default" within 1000 ms/);
    expect(timedOut.stdout).toBe("");
  });

  it("pip-deps: the pip section is installed from the local wheel folder", async () => {
    const r = await runCli([path.join(APPS, "pip-deps")]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/tinywheel 0\.1 from .*site-packages/);
  });

  it("activation: the env's activate.d variables reach the app", async () => {
    const r = await runCli([path.join(APPS, "activation")]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/TINYACTIVATE_HOME=\/.+/);
    expect(r.stdout).not.toContain("TINYACTIVATE_HOME=<unset>");
  });

  it("staged-files: files_to_stage (file, renamed file, folder) are staged next to the entry point", async () => {
    const r = await runCli([path.join(APPS, "staged-files")]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^config: /m);
    expect(r.stdout).toMatch(/^notes: /m);
    expect(r.stdout).toContain("original notes path staged: False");
    expect(r.stdout).toMatch(/asset: assets\/icons\/dot\.txt/);
  });

  it("kernel-notes (conda-jupyter-kernel): --call reaches the service its cell registered before returning", async () => {
    const r = await runCli([path.join(APPS, "kernel-notes"), "--call", "kernel-notes.weighted_total"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("200");
  });

  it("env-file: the env comes from environment.yml, and --env adds variables", async () => {
    const r = await runCli([path.join(APPS, "env-file"), "--env", "ENV_FILE_GREETING=hi there"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/tinylib 2\./);
    expect(r.stdout).toContain("tinytool on PATH: True");
    expect(r.stdout).toContain("ENV_FILE_GREETING=hi there");
  });

  it("flood: 500,000 lines (~47 MB) pass through with bounded memory", async () => {
    const lines = 500_000;
    const child = execa(process.execPath, [CLI, "run", path.join(APPS, "flood"), "--env", `FLOOD_LINES=${lines}`], { env, extendEnv: false, reject: false, stdin: "ignore", cwd: ROOT, buffer: false });
    running.push(child);
    let bytes = 0;
    let tail = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      tail = (tail + chunk.toString()).slice(-200);
    });
    child.stderr!.resume();
    let peakKb = 0;
    const sample = setInterval(() => {
      try {
        const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1] ?? 0);
        peakKb = Math.max(peakKb, kb);
      } catch {
        // The process has exited.
      }
    }, 50);
    const result = await child;
    clearInterval(sample);
    expect(result.exitCode).toBe(0);
    expect(tail).toContain("flood done");
    expect(bytes).toBeGreaterThan(lines * 80);
    // Streamed, never held: about 120 MB RSS whatever the volume (holding the output as strings would add ~95 MB).
    expect(peakKb).toBeGreaterThan(0);
    expect(peakKb).toBeLessThan(180 * 1024);
  }, 120_000);
});

describe("run: bad input", () => {
  const quiet = { env: {}, stdout: { write: () => true }, stderr: { write: () => true }, isTTY: false } as unknown as Parameters<typeof main>[1];

  it.each([
    [[], /give the app directory or its manifest/],
    [["fixtures/apps/hello", "--no-such-flag"], /Unknown option '--no-such-flag'/],
    [["fixtures/apps/no-such-app"], /does not exist/],
    [["fixtures/apps/hello", "[1, 2]"], /JSON arguments only follow --call/],
    [["fixtures/apps/hello", "--call", "default.add", "[]", "extra"], /unexpected argument "extra"/],
    [["fixtures/apps/service", "--call", "add"], /is not SERVICE\.FUNCTION/],
    [["fixtures/apps/service", "--call", "default.add", "[1, 2"], /are not JSON/],
    [["fixtures/apps/service", "--call", "default.add", '{"a": 1}'], /must be a JSON array.*wrap an object/],
    [["fixtures/apps/hello", "--timeout", "soon"], /--timeout "soon" is not a positive number/],
    [["fixtures/apps/hello", "--timeout", "0"], /--timeout "0" is not a positive number/],
    [["fixtures/apps/hello", "--env", "NOVALUE"], /--env "NOVALUE" must be KEY=VALUE/],
    [["fixtures/apps/hello", "--env", "HYPHA_TOKEN=x"], /--env HYPHA_TOKEN is reserved/],
    [["fixtures/apps/hello", "--env", "PATH=/tmp"], /--env PATH is reserved/],
    [["fixtures/apps/hello", "--env", "CONDA_PREFIX=/tmp"], /--env CONDA_PREFIX is reserved/],
    [["fixtures/apps/hello", "--env", "1BAD=x"], /not a valid environment variable name/],
    [["fixtures/apps/hello", "--token", "abcdefgh"], /only apply with --server-url/],
    [["fixtures/apps/hello", "--server-url", "not a url", "--token", "abcdefgh"], /is not a URL/],
    [["fixtures/apps/hello", "--server-url", "ftp://x"], /http\(s\) or ws\(s\)/],
    [["fixtures/apps/hello", "--server-url", "http://127.0.0.1:9"], /needs a token/],
    [["fixtures/apps/hello", "--server-url", "http://127.0.0.1:9", "--token", "abcdefgh", "--workspace", "../x"], /is not a workspace name/],
  ])("run %j is a usage error", async (args, message) => {
    const attempt = main(["run", ...(args as string[])], quiet);
    await expect(attempt).rejects.toBeInstanceOf(UsageError);
    await expect(attempt).rejects.toThrow(message as RegExp);
  });

  it("usage errors exit 2 from the CLI, with nothing on stdout", async () => {
    for (const args of [["fixtures/apps/hello", "--env", "HYPHA_TOKEN=secret-value"], ["fixtures/apps/service", "--call", "default.add", "[1,"]]) {
      const r = await runCli(args);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(/error \[E_USAGE\]/);
      expect(r.stdout).toBe("");
    }
  });

  it("a directory without a manifest is a manifest error (exit 1) that says what to add", async () => {
    const r = await runCli([path.join(ROOT, "fixtures", "apps")]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/E_MANIFEST.*has no manifest\.yaml, manifest\.yml, manifest\.json/);
  });
});

describe("run: call helpers", () => {
  it("splits SERVICE.FUNCTION at the first dot; nested functions keep their dots", () => {
    expect(parseCallTarget("default.add")).toEqual({ serviceId: "default", method: "add" });
    expect(parseCallTarget("svc-1.math.add")).toEqual({ serviceId: "svc-1", method: "math.add" });
    expect(() => parseCallTarget(".add")).toThrow(UsageError);
    expect(() => parseCallTarget("default.")).toThrow(UsageError);
    expect(() => parseCallTarget("default.a-b")).toThrow(UsageError);
  });

  it("prints results as one JSON document: bytes as base64, undefined and functions as null", () => {
    expect(formatCallResult(3)).toBe("3");
    expect(formatCallResult(undefined)).toBe("null");
    expect(formatCallResult({ data: new Uint8Array([104, 105]), fn: () => 1, n: null })).toBe('{"data":"aGk=","fn":null,"n":null}');
    expect(formatCallResult("multi\nline")).toBe('"multi\\nline"');
  });

  it("describes a Python error by type and message, with its traceback", () => {
    const error = new Error("boom");
    error.name = "ValueError";
    error.stack = 'ValueError: boom\nTraceback (most recent call last):\n  File "main.py", line 3, in fail';
    expect(describeCallError(error)).toEqual({ summary: "ValueError: boom", traceback: ["Traceback (most recent call last):", '  File "main.py", line 3, in fail'] });
    expect(describeCallError(new Error("plain")).traceback).toEqual([]);
  });
});

describe("run --server-url: services registered on a Hypha server", () => {
  let target: ServerTarget;
  let observer: HyphaServer | undefined;
  let helper: HyphaServer | undefined;

  beforeAll(async () => {
    target = await openServerTarget({ workspace: "ws-user-runner", userId: "runner" });
  });
  afterAll(async () => {
    await observer?.disconnect().catch(() => undefined);
    await helper?.disconnect().catch(() => undefined);
    await target?.stop();
  });

  it("serves the app's service on the server, callable by another client, until SIGINT", async () => {
    const run = startCli([path.join(APPS, "service"), "--server-url", target.url, "--token", target.token]);
    const [, fullId] = await run.waitFor(/service ready: (\S+:default)/);
    expect(fullId!.startsWith(`${target.workspace}/service-`)).toBe(true);
    observer = await connectToHypha({ server_url: target.url, token: target.token, workspace: target.workspace });
    const svc = (await observer.getService(fullId!)) as unknown as { add(a: number, b: number): Promise<number>; apply(cb: (x: number) => number, x: number): Promise<number> };
    expect(await svc.add(20, 22)).toBe(42);
    expect(await svc.apply((x: number) => x * 3, 5)).toBe(15);
    run.child.kill("SIGINT");
    const result = await run.child;
    expect(result.exitCode).toBe(130);
    expect(run.output().stderr).not.toContain(target.token);
    await expect(observer.getService(fullId!)).rejects.toThrow();
  });

  it("--call goes through Hypha, and the app can reach other services there", async () => {
    helper = await connectToHypha({ server_url: target.url, token: target.token, workspace: target.workspace });
    const info = await helper.registerService({ id: "helper", config: { visibility: "public" }, echo: (text: string) => `helper got: ${text}` });
    const add = await runCli([path.join(APPS, "service"), "--server-url", target.url, "--token", target.token, "--call", "default.add", "[1, 2]"]);
    expect(add.exitCode, add.stderr).toBe(0);
    expect(add.stdout).toBe("3");
    expect(add.stderr).toMatch(new RegExp(`as ${target.workspace}/service-[0-9a-f]+ on `));
    const through = await runCli([path.join(APPS, "service"), "--server-url", target.url, "--call", "default.other_service", JSON.stringify([info.id])], { HYPHA_TOKEN: target.token });
    expect(through.exitCode).toBe(0);
    expect(JSON.parse(through.stdout)).toBe("helper got: hello from the service fixture");
    expect(through.stderr).not.toContain(target.token);
  });
});
