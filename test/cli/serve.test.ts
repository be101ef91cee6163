/** `serve`: settings errors, and a real process that registers, prints its id, and exits 0 on SIGTERM. */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa, type ResultPromise } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveServeSettings } from "../../src/cli/serve.js";
import { connectToHypha, type HyphaServer } from "../../src/hypha/connect.js";
import { startHyphaTestServer, type HyphaTestServer } from "../support/hypha-server.js";
import { AppManagerStandIn } from "../support/app-manager.js";
import { readFileSync } from "node:fs";
import YAML from "yaml";
import { fakePmEnv, fakePmPath } from "../support/fake-pm.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
// Like test/cli/main.test.ts: the built CLI (`npm test` builds first). vite-node would not do: vite
// installs its own SIGTERM handler that exits the process.
const CLI = path.join(ROOT, "dist", "cli.js");

describe("resolveServeSettings", () => {
  it("names the flag and the variable of a missing server URL", () => {
    expect(() => resolveServeSettings({}, {})).toThrow(/--server-url.*HYPHA_SERVER_URL/);
  });

  it("layers flags over environment variables and validates them", () => {
    const env = { HYPHA_SERVER_URL: "http://a:1", HYPHA_VISIBILITY: "public", HYPHA_SERVICE_ID: "w1", HYPHA_CONDA_AUTHORIZED_WORKSPACES: "ws-a, ws-b" };
    const s = resolveServeSettings({ "service-id": "w2" }, env);
    expect(s).toMatchObject({ serverUrl: "http://a:1", visibility: "public", serviceId: "w2", authorizedWorkspaces: ["ws-a", "ws-b"] });
    expect(() => resolveServeSettings({ visibility: "private" }, env)).toThrow(/--visibility \(HYPHA_VISIBILITY\)/);
    expect(() => resolveServeSettings({ "service-id": "a.b" }, env)).toThrow(/--service-id/);
    expect(() => resolveServeSettings({ "server-url": "ftp://x" }, env)).toThrow(/http\(s\) or ws\(s\)/);
  });

  it("reads --connect-attempts (HYPHA_CONDA_CONNECT_ATTEMPTS): default 12, 0 = no limit, whole numbers only", () => {
    const env = { HYPHA_SERVER_URL: "http://a:1" };
    expect(resolveServeSettings({}, env).connectAttempts).toBe(12);
    expect(resolveServeSettings({}, { ...env, HYPHA_CONDA_CONNECT_ATTEMPTS: "0" }).connectAttempts).toBe(0);
    expect(resolveServeSettings({ "connect-attempts": "3" }, { ...env, HYPHA_CONDA_CONNECT_ATTEMPTS: "7" }).connectAttempts).toBe(3);
    expect(() => resolveServeSettings({ "connect-attempts": "-1" }, env)).toThrow(/--connect-attempts \(HYPHA_CONDA_CONNECT_ATTEMPTS\) must be a whole number/);
  });

  it("refuses to pass the worker's own HYPHA_* variables to apps", () => {
    expect(() => resolveServeSettings({ "pass-env": ["HYPHA_TOKEN"] }, { HYPHA_SERVER_URL: "http://a:1", HYPHA_TOKEN: "x" })).toThrow(/reserved/);
    expect(resolveServeSettings({ "pass-env": ["MY_SETTING", "B=2"] }, { HYPHA_SERVER_URL: "http://a:1", MY_SETTING: "1" }).passEnv).toEqual({ MY_SETTING: "1", B: "2" });
  });
});

describe("serve process", () => {
  let server: HyphaTestServer;
  let tmp: string;
  let child: ResultPromise | undefined;
  let observer: HyphaServer | undefined;

  beforeAll(async () => {
    server = await startHyphaTestServer();
    tmp = await mkdtemp(path.join(os.tmpdir(), "hcw-serve-"));
  });
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill("SIGKILL");
    await observer?.disconnect();
    await server?.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  it("exits with a ConfigError naming flag and variable when the server URL is missing", async () => {
    const r = await execa("node", [CLI, "serve"], { reject: false, env: { HYPHA_SERVER_URL: "" }, cwd: ROOT });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/E_CONFIG.*--server-url.*HYPHA_SERVER_URL/);
  });

  /** A serve process with the fake micromamba; resolves with its result once it exits (or is killed by the caller). */
  function serveProcess(extra: Record<string, string>, args: string[] = []): ResultPromise {
    return execa("node", [CLI, "serve", "--working-dir", path.join(tmp, "work"), ...args], {
      cwd: ROOT,
      reject: false,
      env: fakePmEnv({ home: tmp, extra: { HYPHA_CONDA_CACHE_DIR: path.join(tmp, "cache"), HYPHA_CONDA_PACKAGE_MANAGER: fakePmPath("micromamba"), ...extra } }),
    });
  }

  it("exits 1 at the first attempt when the server rejects the token, saying it is not retried", async () => {
    const forged = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.forgedsignature";
    const r = await serveProcess({ HYPHA_SERVER_URL: server.url, HYPHA_TOKEN: forged });
    expect(r.exitCode).toBe(1);
    const stderr = String(r.stderr);
    expect(stderr).toMatch(/error \[E_HYPHA\]: .*rejected the worker's credentials .*not retried/);
    expect(stderr.match(/connection attempt \d+\/12/g)).toHaveLength(1);
    expect(stderr).not.toContain(forged);
  });

  it("exits 1 after --connect-attempts temporary failures, saying so; a signal while retrying exits 0", async () => {
    const r = await serveProcess({ HYPHA_SERVER_URL: "http://127.0.0.1:1" }, ["--connect-attempts", "2"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/connection attempt 1\/2 .*ECONNREFUSED.*retrying in \d+\.\d s/);
    expect(r.stderr).toMatch(/error \[E_HYPHA\]: .*2 attempt\(s\) failed with temporary errors.*--connect-attempts/);
    const forever = serveProcess({ HYPHA_SERVER_URL: "http://127.0.0.1:1", HYPHA_CONDA_CONNECT_ATTEMPTS: "0" });
    let stderr = "";
    await new Promise<void>((resolve) => forever.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      if (/connection attempt 2 .*retrying/.test(stderr)) resolve();
    }));
    forever.kill("SIGTERM");
    expect((await forever).exitCode).toBe(0);
  });

  it("prints the service id, serves, and on SIGTERM stops its sessions, unregisters and exits 0", async () => {
    const token = server.issueToken({ workspace: "ws-ops", userId: "operator" });
    const channel = `conda-forge=file://${path.join(ROOT, "fixtures/channel")}`;
    child = execa("node", [CLI, "serve", "--client-id", "w1", "--visibility", "public", "--working-dir", path.join(tmp, "work"), "--channel-map", channel], {
      cwd: ROOT,
      reject: false,
      env: fakePmEnv({
        home: tmp,
        extra: {
          HYPHA_SERVER_URL: server.url, HYPHA_WORKSPACE: "ws-ops", HYPHA_TOKEN: token,
          HYPHA_CONDA_CACHE_DIR: path.join(tmp, "cache"), HYPHA_CONDA_PACKAGE_MANAGER: fakePmPath("micromamba"),
        },
      }),
    });
    const id = await new Promise<string>((resolve, reject) => {
      let out = "";
      child!.stdout!.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes("\n")) resolve(out.trim());
      });
      child!.then((r) => reject(new Error(`serve exited early (${r.exitCode}): ${String(r.stderr)}`)), reject);
    });
    expect(id).toBe("ws-ops/w1:conda-worker");
    observer = await connectToHypha({ server_url: server.url, token: server.issueToken({ workspace: "ws-user-x", userId: "x" }) });
    const svc = await observer.getService(id);
    expect(svc.type).toBe("server-app-worker");
    const manager = await AppManagerStandIn.create(server);
    let pid: number;
    try {
      const manifest = YAML.parse(readFileSync(path.join(ROOT, "fixtures/apps/counter/manifest.yaml"), "utf8")) as Record<string, unknown>;
      const main = readFileSync(path.join(ROOT, "fixtures/apps/counter/main.py"), "utf8");
      await manager.install({ manifest: { ...manifest, startup_config: { wait_for_service: false } }, files: { "main.py": main } }, { workspace: "ws-user-x", user: "x", verify: false, compile: false });
      const session = await manager.start("counter", { workspace: "ws-user-x", user: "x", workerId: id, timeout: 60 });
      const running = (session.progress as Array<{ message?: string }>).map((p) => p.message ?? "").join("\n");
      pid = Number(/pid (\d+)/.exec(running)?.[1]);
      expect(pid).toBeGreaterThan(0);
      expect(() => process.kill(pid, 0)).not.toThrow();
    } finally {
      await manager.close();
    }
    child.kill("SIGTERM");
    const result = await child;
    expect(() => process.kill(pid, 0)).toThrow();
    expect(result.exitCode).toBe(0);
    expect(String(result.stderr)).not.toContain(token);
    await expect(observer.getService(id)).rejects.toThrow();
  });
});
