/**
 * Sessions end to end on this machine: the real env manager driving the fake micromamba over the fixture
 * channel, the real bridge runner and host (local mode), and the fixture apps.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { createEnvManager } from "../../src/env/env-manager.js";
import type { EnvManager } from "../../src/env/types.js";
import { createDirectoryFileSource } from "../../src/session/app-files.js";
import { isProcessAlive } from "../../src/session/process.js";
import { Session } from "../../src/session/session.js";
import type { StartConfig } from "../../src/session/types.js";
import { makeTempRoot, sessionDeps, type TempRoot } from "../support/session-doubles.js";

const APPS = path.resolve("fixtures/apps");
const FAKE_MICROMAMBA = path.resolve("test/support/fake-pm/bin/micromamba");
const CHANNEL = `file://${path.resolve("fixtures/channel")}`;
const WHEELS = path.resolve("fixtures/wheels");

let cache: TempRoot;
let work: TempRoot;
let env: EnvManager;
const sessions: Session[] = [];

beforeAll(() => {
  cache = makeTempRoot("hcw-sess-cache-");
  work = makeTempRoot("hcw-sess-work-");
  env = createEnvManager(
    { cacheDir: cache.dir, packageManager: FAKE_MICROMAMBA, bootstrap: false, channelMap: { "conda-forge": CHANNEL }, defaultChannels: ["conda-forge"], allowPipOptions: false, createTimeoutMs: 120_000 },
    { env: { PATH: process.env.PATH, HOME: cache.dir, PIP_NO_INDEX: "1", PIP_FIND_LINKS: WHEELS } },
  );
});
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.stop()));
});
afterAll(() => {
  cache.cleanup();
  work.cleanup();
});

let n = 0;
function sessionFor(app: string): Session {
  n += 1;
  const manifest = YAML.parse(readFileSync(path.join(APPS, app, "manifest.yaml"), "utf8")) as Record<string, unknown>;
  const config: StartConfig = { id: `ws-int/app-${n}`, app_id: app, workspace: "ws-int", client_id: `app-${n}`, server_url: "http://127.0.0.1:9", token: "integration-app-token", timeout: 30, manifest };
  const session = new Session(sessionDeps(env, work.dir, { specOptions: { channelMap: { "conda-forge": CHANNEL }, defaultChannels: ["conda-forge"], allowPipOptions: false } }), config);
  sessions.push(session);
  return session;
}

async function runToEnd(app: string) {
  const session = sessionFor(app);
  await session.start({ files: createDirectoryFileSource(path.join(APPS, app)) });
  const info = await session.whenEnded();
  return { session, info, stdout: session.getLogs("stdout") as string[] };
}

describe("sessions with the real env manager, fake micromamba and the real bridge", () => {
  it("hello completes in a created env, then hits the cache", async () => {
    const first = await runToEnd("hello");
    expect(first.info.status).toBe("completed");
    expect(first.stdout).toContain("Hello from hypha-conda-worker!");
    expect(first.info.metadata.env_status).toBe("created");
    const second = await runToEnd("hello");
    expect(second.info.metadata.env_status).toBe("cached");
    expect(second.info.metadata.env_hash).toBe(first.info.metadata.env_hash);
    expect((second.session.getLogs("progress") as string[]).join("\n")).toMatch(/cache hit/);
  }, 60_000);

  it("failing fails with the traceback", async () => {
    const { info, session } = await runToEnd("failing");
    expect(info.status).toBe("failed");
    expect(info.error).toMatch(/exit code 1/);
    expect(info.error).toMatch(/RuntimeError: failing fixture/);
    expect((session.getLogs("stderr") as string[]).join("\n")).toMatch(/Traceback/);
  }, 60_000);

  it("counter runs until stopped, and stop leaves no process", async () => {
    const session = sessionFor("counter");
    await session.start({ files: createDirectoryFileSource(path.join(APPS, "counter")) });
    let line: string | undefined;
    for (let i = 0; i < 200 && !line; i += 1) {
      line = (session.getLogs("stdout") as string[]).find((l) => l.startsWith("counter started"));
      await new Promise((r) => setTimeout(r, 25));
    }
    const pid = Number(/pid (\d+)/.exec(line!)![1]);
    expect(session.info().status).toBe("running");
    await session.stop();
    expect(session.info().status).toBe("stopped");
    expect(isProcessAlive(pid)).toBe(false);
  }, 60_000);

  it("activation: the package's activate.d variable reaches the app", async () => {
    const { info, stdout } = await runToEnd("activation");
    expect(info.status).toBe("completed");
    const prefix = String(info.metadata.env_prefix);
    expect(stdout).toContain(`TINYACTIVATE_HOME=${prefix}/share/tinyactivate`);
  }, 60_000);

  it("env-file: packages from environment.yml", async () => {
    const { info, stdout } = await runToEnd("env-file");
    expect(info.status).toBe("completed");
    expect(stdout).toContain("tinylib 2.0");
    expect(stdout).toContain("tinytool on PATH: True");
  }, 60_000);

  it("pip-deps: the wheel installed by the pip section", async () => {
    const { info, stdout } = await runToEnd("pip-deps");
    expect(info.error).toBeUndefined();
    expect(stdout.join("\n")).toMatch(/^tinywheel 0\.1 from /m);
  }, 60_000);

  it("staged-files: staged next to the entry point", async () => {
    const { info, stdout } = await runToEnd("staged-files");
    expect(info.status).toBe("completed");
    expect(stdout).toContain("notes: These notes were staged under a new name.");
  }, 60_000);

  it("flood through the real runner stays bounded", async () => {
    n += 1;
    const manifest = YAML.parse(readFileSync(path.join(APPS, "flood", "manifest.yaml"), "utf8")) as Record<string, unknown>;
    const config: StartConfig = { id: `ws-int/flood-${n}`, app_id: "flood", workspace: "ws-int", client_id: `flood-${n}`, server_url: "http://127.0.0.1:9", timeout: 30, manifest };
    const deps = sessionDeps(env, work.dir, {
      specOptions: { channelMap: { "conda-forge": CHANNEL }, defaultChannels: ["conda-forge"], allowPipOptions: false },
      passEnv: { FLOOD_LINES: "50000" },
      logLimits: { maxLines: 1000, maxBytes: 256 * 1024 },
    });
    const session = new Session(deps, config);
    sessions.push(session);
    await session.start({ files: createDirectoryFileSource(path.join(APPS, "flood")) });
    expect((await session.whenEnded()).status).toBe("completed");
    const stdout = session.getLogs("stdout") as string[];
    expect(stdout.length).toBeLessThanOrEqual(1001);
    expect(stdout[0]).toMatch(/earlier stdout lines truncated/);
    expect(stdout.at(-1)).toBe("flood done");
  }, 60_000);

  it("execute runs code in a running app", async () => {
    const session = sessionFor("counter");
    await session.start({ files: createDirectoryFileSource(path.join(APPS, "counter")) });
    // The runner installs its executor right after the handshake; wait until the app's code runs.
    for (let i = 0; i < 200 && !(session.getLogs("stdout") as string[]).some((l) => l.startsWith("count ")); i += 1) {
      await new Promise((r) => setTimeout(r, 25));
    }
    const result = await session.execute("interval * 10", 10_000);
    expect(result.status).toBe("ok");
    expect(result.outputs).toEqual([{ type: "execute_result", data: { "text/plain": "2.0" }, metadata: {}, execution_count: 2 }]);
  }, 60_000);

  it("service: waitForService and a call through the real bridge in local mode; stop ends it", async () => {
    const session = sessionFor("service");
    await session.start({ files: createDirectoryFileSource(path.join(APPS, "service")) });
    await session.waitForService("default", 20_000);
    expect(await session.callService("default", "add", [1, 2])).toBe(3);
    expect(session.info().metadata.services).toContain("default");
    expect(session.info().status).toBe("running");
    await session.stop();
    expect(session.info().status).toBe("stopped");
  }, 60_000);
});
