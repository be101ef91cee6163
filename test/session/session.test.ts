import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import YAML from "yaml";
import { createDirectoryFileSource } from "../../src/session/app-files.js";
import { isProcessAlive } from "../../src/session/process.js";
import { Session } from "../../src/session/session.js";
import type { SessionDeps, StartConfig } from "../../src/session/types.js";
import type { ProgressEvent } from "../../src/progress.js";
import { createEnvDouble, createRuntimeDouble, makeTempRoot, sessionDeps, type EnvDouble, type TempRoot } from "../support/session-doubles.js";

// The real runtime pulls in the bridge; these tests substitute it, so its module is never needed.
vi.mock("../../src/session/runtime.js", () => ({ defaultRuntime: undefined }));

const APPS = path.resolve("fixtures/apps");
const sessions: Session[] = [];
const roots: TempRoot[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.stop()));
  roots.splice(0).forEach((r) => r.cleanup());
});

let counter = 0;
function configFor(appDir: string, overrides: Partial<StartConfig> = {}): StartConfig {
  counter += 1;
  const manifest = YAML.parse(readFileSync(path.join(appDir, "manifest.yaml"), "utf8")) as Record<string, unknown>;
  return {
    id: `ws-test/client-${counter}`,
    app_id: String(manifest.id ?? "app"),
    workspace: "ws-test",
    client_id: `client-${counter}`,
    server_url: "http://127.0.0.1:9",
    token: "app-token-for-tests-123",
    timeout: 20,
    manifest: { ...manifest, _rtype: "pydantic-model" },
    ...overrides,
  };
}

interface Harness {
  session: Session;
  env: EnvDouble;
  root: TempRoot;
  events: ProgressEvent[];
  start(): Promise<void>;
  sessionDirs(): string[];
}

function harness(appDir: string, opts: { env?: EnvDouble; deps?: Partial<SessionDeps>; config?: Partial<StartConfig>; runtime?: ReturnType<typeof createRuntimeDouble> } = {}): Harness {
  const root = makeTempRoot();
  roots.push(root);
  const env = opts.env ?? createEnvDouble();
  const session = new Session(sessionDeps(env, root.dir, opts.deps), configFor(appDir, opts.config), opts.runtime ?? createRuntimeDouble());
  sessions.push(session);
  const events: ProgressEvent[] = [];
  return {
    session,
    env,
    root,
    events,
    start: () => session.start({ files: createDirectoryFileSource(appDir), onProgress: (e) => events.push(e) }),
    sessionDirs: () => {
      const ws = path.join(root.dir, "ws-test");
      try {
        return readdirSync(ws);
      } catch {
        return [];
      }
    },
  };
}

/** A throwaway app written into a temp dir. */
function tempApp(main: string, manifest: Record<string, unknown> = {}): string {
  const root = makeTempRoot("hcw-app-");
  roots.push(root);
  writeFileSync(path.join(root.dir, "main.py"), main);
  writeFileSync(path.join(root.dir, "manifest.yaml"), YAML.stringify({ type: "conda-python", id: "temp", entry_point: "main.py", dependencies: ["python"], ...manifest }));
  return root.dir;
}

async function waitForLine(session: Session, pattern: RegExp): Promise<string> {
  for (let i = 0; i < 400; i += 1) {
    const line = (session.getLogs("stdout") as string[]).find((l) => pattern.test(l));
    if (line) return line;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no stdout line matching ${pattern}: ${JSON.stringify(session.getLogs())}`);
}

describe("Session", () => {
  it("hello: runs, completes, keeps its output, releases everything", async () => {
    const h = harness(path.join(APPS, "hello"));
    await h.start();
    const final = await h.session.whenEnded();
    expect(final.status).toBe("completed");
    expect(final.metadata.exit_code).toBe(0);
    expect(h.session.getLogs("stdout")).toContain("Hello from hypha-conda-worker!");
    expect((h.session.getLogs("stdout") as string[]).join("\n")).toContain("app hello in workspace ws-test");
    expect(h.events.map((e) => e.phase)).toEqual(["validating", "fetching", "resolving", "creating", "cache", "staging", "launching", "running"]);
    expect(h.events.find((e) => e.phase === "cache")?.data?.hash).toMatch(/^[0-9a-f]{64}$/);
    expect((h.session.getLogs("progress") as string[])[0]).toMatch(/^\[validating\]/);
    expect(h.env.leases).toHaveLength(1);
    expect(h.env.activeLeases()).toBe(0);
    expect(h.sessionDirs()).toEqual([]);
    await h.session.stop();
    expect(h.session.info().status).toBe("stopped");
    expect(h.session.getLogs("stdout")).toContain("Hello from hypha-conda-worker!");
    await expect(h.session.waitForService("default", 1000)).rejects.toThrow(/ended \(stopped\) before it registered service "default"/);
  });

  it("forwards output live to onOutput", async () => {
    const h = harness(path.join(APPS, "hello"));
    const chunks: string[] = [];
    await h.session.start({ files: createDirectoryFileSource(path.join(APPS, "hello")), onOutput: (stream, text) => chunks.push(`${stream}:${text}`) });
    await h.session.whenEnded();
    await h.session.whenMainDone();
    expect(chunks.join("")).toContain("stdout:Hello from hypha-conda-worker!");
  });

  it("failing: fails with the exit code and the traceback in logs and error", async () => {
    const h = harness(path.join(APPS, "failing"));
    await h.start();
    const final = await h.session.whenEnded();
    expect(final.status).toBe("failed");
    expect(final.error).toMatch(/exit code 1/);
    expect(final.error).toMatch(/RuntimeError: failing fixture: this app fails on purpose/);
    const { log, error } = h.session.getLogs() as { log: string[]; error: string[] };
    expect(log).toContain("about to fail");
    expect(error.join("\n")).toMatch(/Traceback \(most recent call last\)/);
    expect(h.env.activeLeases()).toBe(0);
    expect(h.sessionDirs()).toEqual([]);
  });

  it("counter: runs until stopped; stop kills it, is idempotent, and releases everything", async () => {
    const h = harness(path.join(APPS, "counter"));
    await h.start();
    expect(h.session.info().status).toBe("running");
    const pid = Number(/pid (\d+)/.exec(await waitForLine(h.session, /counter started/))![1]);
    await waitForLine(h.session, /^count 3$/);
    expect(h.sessionDirs()).toHaveLength(1);
    expect(h.env.activeLeases()).toBe(1);
    const statuses: string[] = [];
    h.session.onStatusChange((s) => statuses.push(s));
    await h.session.stop();
    await h.session.stop();
    expect(statuses).toEqual(["stopping", "stopped"]);
    expect(h.session.info().status).toBe("stopped");
    expect(isProcessAlive(pid)).toBe(false);
    expect(h.env.activeLeases()).toBe(0);
    expect(h.sessionDirs()).toEqual([]);
    expect(createRuntimeDoubleHostsClosed(h)).toBe(true);
    expect(h.session.getLogs("stdout")).toContain("count 1");
  });

  it("flood: logs stay within their limits with a visible marker", async () => {
    const h = harness(path.join(APPS, "flood"), { deps: { passEnv: { FLOOD_LINES: "30000" }, logLimits: { maxLines: 2000, maxBytes: 128 * 1024 } } });
    await h.start();
    expect((await h.session.whenEnded()).status).toBe("completed");
    const all = h.session.getLogs() as { log: string[]; error: string[] };
    expect(all.log.length + all.error.length).toBeLessThanOrEqual(2002);
    expect(all.log[0]).toMatch(/earlier .* lines truncated/);
    expect(all.log).toContain("flood done");
    expect(Buffer.byteLength(all.log.join("\n"))).toBeLessThan(140 * 1024);
  });

  it("get_logs views: type, offset, limit and the log/error split", async () => {
    const app = tempApp("import sys\nfor i in range(5):\n    print(f'out {i}')\n    print(f'err {i}', file=sys.stderr)\n");
    const h = harness(app);
    await h.start();
    await h.session.whenEnded();
    expect(h.session.getLogs("stdout", 1, 2)).toEqual(["out 1", "out 2"]);
    expect(h.session.getLogs("stderr", 3)).toEqual(["err 3", "err 4"]);
    const split = h.session.getLogs(undefined, 0, 2) as { log: string[]; error: string[] };
    expect(split.error).toEqual(["err 0", "err 1"]);
    expect(split.log[0]).toMatch(/^\[validating\]/);
    expect(() => h.session.getLogs("nope")).toThrow(/Unknown log type/);
  });

  it("child env: the app token, never the worker's token or secrets", async () => {
    const saved = { HYPHA_TOKEN: process.env.HYPHA_TOKEN, FOO_SECRET: process.env.FOO_SECRET };
    process.env.HYPHA_TOKEN = "worker-token-must-not-leak";
    process.env.FOO_SECRET = "foo-secret-must-not-leak";
    try {
      const app = tempApp("import json, os\nprint('ENV', json.dumps(dict(os.environ)))\n");
      const h = harness(app, { deps: { passEnv: { OPERATOR_SETTING: "on" } } });
      await h.start();
      await h.session.whenEnded();
      // Logs redact the app token, so read the app's view through a hash-free check.
      const line = (h.session.getLogs("stdout") as string[]).find((l) => l.startsWith("ENV "))!;
      const seen = JSON.parse(line.slice(4)) as Record<string, string>;
      expect(seen.HYPHA_TOKEN).toBe("***");
      expect(seen.HYPHA_WORKSPACE).toBe("ws-test");
      expect(seen.HYPHA_CLIENT_ID).toMatch(/^client-\d+$/);
      expect(seen.HYPHA_APP_ID).toBe("temp");
      expect(seen.HYPHA_SERVER_URL).toBe("http://127.0.0.1:9");
      expect(seen.OPERATOR_SETTING).toBe("on");
      expect(line).not.toContain("worker-token-must-not-leak");
      expect(line).not.toContain("foo-secret-must-not-leak");
      expect(seen).not.toHaveProperty("FOO_SECRET");
    } finally {
      for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it("child env: the app really receives its own token", async () => {
    const app = tempApp("import os\nprint('TOKEN_MATCHES', os.environ.get('HYPHA_TOKEN') == 'app-token-for-tests-123')\n");
    const h = harness(app);
    await h.start();
    await h.session.whenEnded();
    expect(h.session.getLogs("stdout")).toContain("TOKEN_MATCHES True");
  });

  it("activation: variables from the env's activation reach the app", async () => {
    const env = createEnvDouble({ activation: { TINYACTIVATE_HOME: "/opt/env/share/tinyactivate" } });
    const h = harness(path.join(APPS, "activation"), { env });
    await h.start();
    await h.session.whenEnded();
    expect(h.session.getLogs("stdout")).toContain("TINYACTIVATE_HOME=/opt/env/share/tinyactivate");
    expect(env.ensured[0]!.conda.join(" ")).toContain("tinyactivate");
  });

  it("staged-files: the app reads its staged, renamed and folder files", async () => {
    const h = harness(path.join(APPS, "staged-files"));
    await h.start();
    expect((await h.session.whenEnded()).status).toBe("completed");
    expect(h.session.getLogs("stdout")).toEqual([
      "config: hello from config.json",
      "notes: These notes were staged under a new name.",
      "original notes path staged: False",
      "asset: assets/readme.txt",
      "asset: assets/icons/dot.txt",
    ]);
  });

  it("env-file: the spec comes from environment.yml", async () => {
    const h = harness(path.join(APPS, "env-file"));
    await h.start().catch(() => undefined);
    await h.session.whenEnded();
    expect(h.env.ensured[0]!.conda.join(" ")).toMatch(/tinylib/);
    expect(h.env.ensured[0]!.variables).toEqual({ ENV_FILE_GREETING: "hello from environment.yml" });
  });
});

describe("Session process cleanup and HTTP files", () => {
  it("stop leaves no survivor of an app whose grandchildren ignore SIGTERM", async () => {
    const app = tempApp(
      [
        "import os, signal, subprocess, sys, time",
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)",
        "code = 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)'",
        "kids = [subprocess.Popen([sys.executable, '-c', code]) for _ in range(2)]",
        "print('PIDS', os.getpid(), *[k.pid for k in kids], flush=True)",
        "time.sleep(60)",
      ].join("\n"),
    );
    const h = harness(app, { deps: { stopGraceMs: 200 } });
    await h.start();
    const pids = (await waitForLine(h.session, /^PIDS /)).slice(5).split(" ").map(Number);
    expect(pids).toHaveLength(3);
    expect(pids.every(isProcessAlive)).toBe(true);
    await h.session.stop();
    expect(pids.filter(isProcessAlive)).toEqual([]);
    expect(h.session.info().status).toBe("stopped");
  });

  it("an app that exits 0 leaving a background child: completed, and the child is killed", async () => {
    const app = tempApp(
      [
        "import subprocess, sys",
        "code = 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)'",
        "child = subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)",
        "print('CHILD', child.pid, flush=True)",
      ].join("\n"),
    );
    const h = harness(app, { deps: { stopGraceMs: 200 } });
    const statuses: string[] = [];
    h.session.onStatusChange((status) => statuses.push(status));
    await h.start();
    const info = await h.session.whenEnded();
    expect(info.status).toBe("completed");
    expect(statuses).toEqual(["running", "completed"]);
    const childPid = Number((await waitForLine(h.session, /^CHILD /)).slice(6));
    expect(isProcessAlive(childPid)).toBe(false);
  });

  it("stop while waiting for the handshake: stopped, process killed", async () => {
    const app = tempApp("import os, time\nprint('PID', os.getpid(), flush=True)\ntime.sleep(60)\n");
    const h = harness(app, { config: { timeout: 60 }, runtime: createRuntimeDouble({ neverReady: true }) });
    const started = h.start();
    const pid = Number((await waitForLine(h.session, /^PID /)).slice(4));
    await h.session.stop();
    await expect(started).rejects.toThrow(/stopped while starting/);
    expect(h.session.info().status).toBe("stopped");
    expect(isProcessAlive(pid)).toBe(false);
    expect(h.env.activeLeases()).toBe(0);
    expect(h.sessionDirs()).toEqual([]);
  });

  it("fetches the app over HTTP from app_files_base_url with the app token", async () => {
    const appDir = path.join(APPS, "staged-files");
    const seen: string[] = [];
    const server = createServer((req, res) => {
      const url = new URL(req.url!, "http://x");
      seen.push(`${req.headers.authorization} ${url.pathname}${url.search}`);
      if (req.headers.authorization !== "Bearer app-token-for-tests-123" || url.searchParams.get("use_proxy") !== "true") return void res.writeHead(403).end();
      const rel = decodeURIComponent(url.pathname.replace(/^\/files\/?/, ""));
      const full = path.join(appDir, rel);
      if (rel.endsWith("/")) {
        const entries = readdirSync(full, { withFileTypes: true }).map((e) => ({ name: e.name, type: e.isDirectory() ? "directory" : "file" }));
        return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(entries));
      }
      let body: Buffer;
      try {
        body = readFileSync(full);
      } catch {
        return void res.writeHead(404).end();
      }
      res.writeHead(200).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/files`;
      const h = harness(appDir, { config: { app_files_base_url: base } });
      await h.session.start({ onProgress: (e) => h.events.push(e) });
      expect((await h.session.whenEnded()).status).toBe("completed");
      expect(h.session.getLogs("stdout")).toContain("notes: These notes were staged under a new name.");
      expect(seen).toContain("Bearer app-token-for-tests-123 /files/assets/?use_proxy=true&limit=1000&offset=0");
      // The entry point is fetched once, then served from memory when staging.
      expect(seen.filter((l) => l.includes("/files/main.py?")).length).toBe(1);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

function createRuntimeDoubleHostsClosed(h: Harness): boolean {
  const runtime = (h.session as unknown as { runtime: ReturnType<typeof createRuntimeDouble> }).runtime;
  return runtime.hosts.length === 1 && runtime.hosts[0]!.closed;
}

describe("Session failures release everything", () => {
  async function expectFailed(h: Harness, pattern: RegExp) {
    await expect(h.start()).rejects.toThrow(pattern);
    const info = h.session.info();
    expect(info.status).toBe("failed");
    expect(info.error).toMatch(pattern);
    expect(h.env.activeLeases()).toBe(0);
    expect(h.sessionDirs()).toEqual([]);
    expect(h.events.at(-1)).toMatchObject({ phase: "failed", type: "error" });
    expect((h.session.getLogs("error") as string[]).join("\n")).toMatch(pattern);
    await expect(h.session.whenStarted()).rejects.toThrow();
    expect((await h.session.whenEnded()).status).toBe("failed");
  }

  it("validating: a bad manifest", async () => {
    await expectFailed(harness(path.join(APPS, "hello"), { config: { manifest: { type: "docker" } } }), /not handled by this worker/);
  });

  it("fetching: a missing entry point", async () => {
    await expectFailed(harness(path.join(APPS, "hello"), { config: { entry_point: "missing.py" } }), /entry point "missing.py" is not among/);
  });

  it("resolving/creating: the env build fails", async () => {
    await expectFailed(harness(path.join(APPS, "hello"), { env: createEnvDouble({ failEnsure: new Error("solver says no") }) }), /solver says no/);
  });

  it("the lease cannot be taken", async () => {
    await expectFailed(harness(path.join(APPS, "hello"), { env: createEnvDouble({ failLease: new Error("lease store down") }) }), /lease store down/);
  });

  it("staging: a files_to_stage entry that is missing or escapes", async () => {
    const app = tempApp("print('x')\n", { files_to_stage: ["ghost.txt"] });
    await expectFailed(harness(app), /"ghost.txt", which is not among/);
  });

  it("launching: the runner never handshakes (timeout), and its process is killed", async () => {
    const app = tempApp("import os, time\nprint('PID', os.getpid(), flush=True)\ntime.sleep(60)\n");
    const h = harness(app, { config: { timeout: 0.5 }, runtime: createRuntimeDouble({ neverReady: true }) });
    await expectFailed(h, /did not complete its handshake within 0.5 s/);
    const pid = Number((h.session.getLogs("stdout") as string[]).find((l) => l.startsWith("PID "))!.slice(4));
    expect(isProcessAlive(pid)).toBe(false);
  });

  it("launching: the app dies before the handshake, with its stderr in the error", async () => {
    const app = tempApp("import sys\nprint('broken install', file=sys.stderr)\nsys.exit(7)\n");
    const h = harness(app, { runtime: createRuntimeDouble({ neverReady: true }) });
    await expectFailed(h, /exit code 7/);
    expect(h.session.info().error).toMatch(/broken install/);
  });

  it("launching: the bridge cannot attach", async () => {
    await expectFailed(harness(path.join(APPS, "hello"), { runtime: createRuntimeDouble({ failBridge: new Error("bad channel") }) }), /bad channel/);
  });

  it("stop during the env build: stopped, not failed, nothing held", async () => {
    const h = harness(path.join(APPS, "hello"), { env: createEnvDouble({ ensureDelayMs: 5000 }) });
    const started = h.start();
    await new Promise((r) => setTimeout(r, 100));
    await h.session.stop();
    await expect(started).rejects.toThrow(/stopped while starting/);
    expect(h.session.info().status).toBe("stopped");
    expect(h.env.activeLeases()).toBe(0);
    expect(h.sessionDirs()).toEqual([]);
  });

  it("execute needs a running app; start twice is refused", async () => {
    const h = harness(path.join(APPS, "hello"));
    await expect(h.session.execute("1+1", 1000)).rejects.toThrow(/not running/);
    await h.start();
    await expect(h.start()).rejects.toThrow(/already started/);
  });
});

