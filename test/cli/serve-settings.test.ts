// `serve` with upstream's settings: the variable names hypha/workers/conda.py and docs/conda-worker.md use,
// in documented precedence (flag > own HYPHA_CONDA_* > upstream's names > default), and upstream's command
// line `python -m hypha.workers.conda --server-url ... --verbose` run as `hypha-conda-worker serve`.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa, type ResultPromise } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { resolveEnvOptions, upstreamVariableNotes } from "../../src/cli/env-options.js";
import { normalizeServeArgv, resolveServeSettings } from "../../src/cli/serve-settings.js";
import { connectToHypha, type HyphaServer } from "../../src/hypha/connect.js";
import { createWorkerService } from "../../src/hypha/service.js";
import { CondaWorker } from "../../src/worker/conda-worker.js";
import { AppManagerStandIn, logContents } from "../support/app-manager.js";
import { fakePmEnv, fakePmPath } from "../support/fake-pm.js";
import { inertEnvManager } from "../support/fake-worker-session.js";
import { startHyphaTestServer, type HyphaTestServer } from "../support/hypha-server.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CLI = path.join(ROOT, "dist", "cli.js");
const URL_ENV = { HYPHA_SERVER_URL: "http://127.0.0.1:1" };

describe("upstream's environment variable names", () => {
  it("reads HYPHA_* (upstream's docs) and CONDA_* (its built-in worker) after this worker's own names", () => {
    const upstream = { ...URL_ENV, HYPHA_WORKING_DIR: "/srv/a", CONDA_WORKING_DIR: "/srv/b", CONDA_AUTHORIZED_WORKSPACES: "ws-a,ws-b" };
    const s = resolveServeSettings({}, upstream);
    expect(s).toMatchObject({ workingDir: "/srv/a", authorizedWorkspaces: ["ws-a", "ws-b"] });
    expect(s.notes).toEqual([
      "--authorized-workspaces: read from CONDA_AUTHORIZED_WORKSPACES (upstream's name; HYPHA_CONDA_AUTHORIZED_WORKSPACES takes precedence)",
      "--working-dir: read from HYPHA_WORKING_DIR (upstream's name; HYPHA_CONDA_WORKING_DIR takes precedence)",
    ]);
    const own = resolveServeSettings({}, { ...upstream, HYPHA_CONDA_WORKING_DIR: "/srv/own", HYPHA_AUTHORIZED_WORKSPACES: "ws-c" });
    expect(own).toMatchObject({ workingDir: "/srv/own", authorizedWorkspaces: ["ws-c"] });
    expect(resolveServeSettings({ "working-dir": "/srv/flag" }, { ...upstream, HYPHA_CONDA_WORKING_DIR: "/srv/own" }).workingDir).toBe("/srv/flag");
  });

  it("reads the cache dir from HYPHA_CACHE_DIR, then CONDA_CACHE_DIR, for every command", () => {
    expect(resolveEnvOptions({}, { CONDA_CACHE_DIR: "/c/conda", HYPHA_CACHE_DIR: "/c/hypha" }).cacheDir).toBe("/c/hypha");
    expect(resolveEnvOptions({}, { CONDA_CACHE_DIR: "/c/conda" }).cacheDir).toBe("/c/conda");
    expect(resolveEnvOptions({}, { CONDA_CACHE_DIR: "/c/conda", HYPHA_CONDA_CACHE_DIR: "/c/own" }).cacheDir).toBe("/c/own");
    expect(resolveEnvOptions({ "cache-dir": "/c/flag" }, { HYPHA_CONDA_CACHE_DIR: "/c/own" }).cacheDir).toBe("/c/flag");
    expect(upstreamVariableNotes({}, { HYPHA_CACHE_DIR: "/c/hypha" })).toEqual(["--cache-dir: read from HYPHA_CACHE_DIR (upstream's name; HYPHA_CONDA_CACHE_DIR takes precedence)"]);
    expect(upstreamVariableNotes({}, { HYPHA_CONDA_CACHE_DIR: "/c/own", HYPHA_CACHE_DIR: "/c/hypha" })).toEqual([]);
    expect(() => resolveEnvOptions({}, { HYPHA_CACHE_DIR: "bad\u0001dir" })).toThrow(/--cache-dir \/ HYPHA_CONDA_CACHE_DIR \(from HYPHA_CACHE_DIR\)/);
  });

  it("maps HYPHA_DISABLE_SSL, CONDA_VERBOSE and HYPHA_LOGLEVEL; notes HYPHA_RUN_FROM_ENV as ignored", () => {
    expect(resolveServeSettings({}, { ...URL_ENV, HYPHA_DISABLE_SSL: "true" }).disableSsl).toBe(true);
    expect(resolveServeSettings({}, URL_ENV).disableSsl).toBe(false);
    expect(() => resolveServeSettings({}, { ...URL_ENV, HYPHA_DISABLE_SSL: "maybe" })).toThrow(/HYPHA_DISABLE_SSL must be 1\/true\/yes or 0\/false\/no/);
    expect(resolveServeSettings({}, URL_ENV).logLevel).toBe("info");
    expect(resolveServeSettings({}, { ...URL_ENV, CONDA_VERBOSE: "1" }).logLevel).toBe("debug");
    expect(resolveServeSettings({}, { ...URL_ENV, HYPHA_LOGLEVEL: "warning" }).logLevel).toBe("warn");
    expect(resolveServeSettings({ verbose: true }, { ...URL_ENV, HYPHA_LOGLEVEL: "ERROR" }).logLevel).toBe("debug");
    expect(() => resolveServeSettings({}, { ...URL_ENV, HYPHA_LOGLEVEL: "LOUD" })).toThrow(/HYPHA_LOGLEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL/);
    expect(resolveServeSettings({}, { ...URL_ENV, HYPHA_RUN_FROM_ENV: "true" }).notes).toEqual(["HYPHA_RUN_FROM_ENV is ignored: serve always reads its settings from the environment too"]);
  });

  it("names every variable of a setting in its error, and validates the log shape", () => {
    expect(() => resolveServeSettings({}, { ...URL_ENV, HYPHA_AUTHORIZED_WORKSPACES: "ws a;b" })).toThrow(
      /--authorized-workspaces \(HYPHA_CONDA_AUTHORIZED_WORKSPACES, HYPHA_AUTHORIZED_WORKSPACES, CONDA_AUTHORIZED_WORKSPACES\)/,
    );
    expect(resolveServeSettings({}, URL_ENV).logShape).toBe("items");
    expect(resolveServeSettings({}, { ...URL_ENV, HYPHA_CONDA_LOG_SHAPE: "seed" }).logShape).toBe("seed");
    expect(() => resolveServeSettings({ "log-shape": "list" }, URL_ENV)).toThrow(/--log-shape must be one of items, seed/);
  });
});

describe("upstream's --use-local-url, which takes a value", () => {
  it("folds the value into the flag and gives a bare flag 'true'", () => {
    expect(normalizeServeArgv(["--use-local-url", "true", "--verbose"])).toEqual(["--use-local-url=true", "--verbose"]);
    expect(normalizeServeArgv(["--use-local-url", "--verbose"])).toEqual(["--use-local-url=true", "--verbose"]);
    expect(normalizeServeArgv(["--verbose", "--use-local-url"])).toEqual(["--verbose", "--use-local-url=true"]);
    expect(normalizeServeArgv(["--", "--use-local-url", "x"])).toEqual(["--", "--use-local-url", "x"]);
  });

  it("accepts true, false or a URL for apps, and refuses anything else", () => {
    expect(resolveServeSettings({}, URL_ENV).useLocalUrl).toBe(false);
    expect(resolveServeSettings({ "use-local-url": "true" }, URL_ENV).useLocalUrl).toBe(true);
    expect(resolveServeSettings({ "use-local-url": "False" }, URL_ENV).useLocalUrl).toBe(false);
    expect(resolveServeSettings({ "use-local-url": "http://hypha.internal:9527" }, URL_ENV).useLocalUrl).toBe("http://hypha.internal:9527");
    expect(() => resolveServeSettings({ "use-local-url": "sometimes" }, URL_ENV)).toThrow(/--use-local-url takes true, false or the http\(s\) URL/);
  });

  it("puts a URL value in the service's use_local_url, which apps.py uses as the apps' server_url", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "hcw-use-local-url-"));
    try {
      const worker = new CondaWorker({ env: inertEnvManager(dir), workingDir: path.join(dir, "work") });
      const service = createWorkerService(worker, { serviceId: "w", visibility: "public", useLocalUrl: "http://hypha.internal:9527" });
      expect(service.use_local_url).toBe("http://hypha.internal:9527");
      expect(createWorkerService(worker, { serviceId: "w", visibility: "public" }).use_local_url).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("upstream's command line, run as `hypha-conda-worker serve`", () => {
  let server: HyphaTestServer;
  let tmp: string;
  let child: ResultPromise | undefined;
  let observer: HyphaServer | undefined;

  beforeAll(async () => {
    server = await startHyphaTestServer();
    tmp = await mkdtemp(path.join(os.tmpdir(), "hcw-serve-upstream-"));
  });
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill("SIGKILL");
    await observer?.disconnect();
    await server?.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  it("registers with upstream's flags, reads upstream's variables, runs an app, and never logs the token", async () => {
    const token = server.issueToken({ workspace: "ws-ops", userId: "operator" });
    const cacheDir = path.join(tmp, "conda_cache");
    const workingDir = path.join(tmp, "sessions");
    // The flags of upstream's docs ("Production Setup with Custom Cache"), plus the two it documents as variables.
    const argv = ["serve", "--server-url", server.url, "--workspace", "ws-ops", "--token", token, "--service-id", "prod-conda-worker-01", "--visibility", "public", "--cache-dir", cacheDir, "--verbose", "--use-local-url", "false"];
    child = execa("node", [CLI, ...argv], {
      cwd: ROOT,
      reject: false,
      env: fakePmEnv({
        home: tmp,
        extra: {
          HYPHA_WORKING_DIR: workingDir, CONDA_AUTHORIZED_WORKSPACES: "ws-user-x", HYPHA_RUN_FROM_ENV: "true",
          HYPHA_CONDA_PACKAGE_MANAGER: fakePmPath("micromamba"), HYPHA_CONDA_CHANNEL_MAP: `conda-forge=file://${path.join(ROOT, "fixtures/channel")}`,
        },
      }),
    });
    const id = await firstLine(child);
    expect(id).toMatch(/^ws-ops\/[^:]+:prod-conda-worker-01$/);
    observer = await connectToHypha({ server_url: server.url, token: server.issueToken({ workspace: "ws-user-y", userId: "y" }) });
    const svc = await observer.getService(id);
    expect(svc).toMatchObject({ type: "server-app-worker", use_local_url: false });
    const manager = await AppManagerStandIn.create(server);
    try {
      const manifest = YAML.parse(readFileSync(path.join(ROOT, "fixtures/apps/hello/manifest.yaml"), "utf8")) as Record<string, unknown>;
      const files = { "main.py": readFileSync(path.join(ROOT, "fixtures/apps/hello/main.py"), "utf8") };
      for (const user of ["x", "y"]) {
        await manager.install({ manifest: { ...manifest, startup_config: { wait_for_service: false } }, files }, { workspace: `ws-user-${user}`, user, verify: false, compile: false });
      }
      const session = await manager.start("hello", { workspace: "ws-user-x", user: "x", workerId: id, timeout: 60 });
      await expect.poll(async () => logContents(await manager.getLogs(session.id, { type: "stdout" })).join("\n"), { timeout: 15_000 }).toMatch(/Hello from hypha-conda-worker!/);
      expect(readdirSync(path.join(cacheDir, "envs")).length).toBe(1);
      expect(existsSync(workingDir)).toBe(true);
      // CONDA_AUTHORIZED_WORKSPACES holds: another workspace may not start apps on this worker.
      await expect(manager.start("hello", { workspace: "ws-user-y", user: "y", workerId: id, timeout: 60 })).rejects.toThrow(/ws-user-y/);
      await manager.stop(session.id);
    } finally {
      await manager.close();
    }
    child.kill("SIGTERM");
    const result = await child;
    expect(result.exitCode).toBe(0);
    const stderr = String(result.stderr);
    expect(stderr).toContain("--working-dir: read from HYPHA_WORKING_DIR (upstream's name");
    expect(stderr).toContain("--authorized-workspaces: read from CONDA_AUTHORIZED_WORKSPACES (upstream's name");
    expect(stderr).toContain("HYPHA_RUN_FROM_ENV is ignored");
    expect(stderr).toMatch(/DEBUG|debug/);
    expect(stderr).not.toContain(token);
  }, 120_000);
});

function firstLine(child: ResultPromise): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("\n")) resolve(out.trim());
    });
    child.then((r) => reject(new Error(`serve exited early (${r.exitCode}): ${String(r.stderr)}`)), reject);
  });
}
