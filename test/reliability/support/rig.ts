/**
 * An in-process worker rig for the reliability suite: the Hypha test server, its app-manager stand-in
 * (calls from the server's `public`/root client with kwargs), the real CondaWorker + Session + env manager
 * + bridge over the fake micromamba and the fixture channel, registered as a Hypha service. Everything
 * lives under one temp dir that close() removes.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createEnvManager } from "../../../src/env/env-manager.js";
import type { EnvManager, EnvOptions } from "../../../src/env/types.js";
import { connectToHypha, type HyphaServer } from "../../../src/hypha/connect.js";
import { registerWorkerService, type RegisteredWorkerService } from "../../../src/hypha/service.js";
import { registerSecret } from "../../../src/redact.js";
import type { LogLimits } from "../../../src/session/types.js";
import { CondaWorker } from "../../../src/worker/conda-worker.js";
import { AppManagerStandIn } from "../../support/app-manager.js";
import { fakePmEnv, fakePmPath, FIXTURE_CHANNEL_URL, type FakePmKnobs } from "../../support/fake-pm.js";
import { startHyphaTestServer, type HyphaTestServer } from "../../support/hypha-server.js";

export const ALICE = { workspace: "ws-user-alice", user: "alice" };

export interface RigOptions {
  createTimeoutMs?: number;
  /** Absolute path of the package manager (default: the fake micromamba). */
  packageManager?: string;
  stopGraceMs?: number;
  logLimits?: LogLimits;
  knobs?: FakePmKnobs;
  /** Cache root (default: <temp>/cache). */
  cacheDir?: string;
}

export interface Leftovers {
  /** Held per-hash / package-cache locks (`*.lock` directories) and holder records. */
  locks: string[];
  /** Lease files under leases/<hash>/. */
  leases: string[];
  /** Session working directories under <work>/<workspace>/. */
  workDirs: string[];
  /** Env directories under envs/. */
  envs: string[];
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** What a cache + working root hold right now (see Leftovers). */
export function leftoversIn(cacheDir: string, workDir: string): Leftovers {
  const leasesDir = path.join(cacheDir, "leases");
  return {
    locks: list(path.join(cacheDir, "locks")).filter((n) => n.endsWith(".lock") || n.endsWith(".lock.json")),
    leases: list(leasesDir).flatMap((h) => list(path.join(leasesDir, h)).map((f) => `${h}/${f}`)),
    workDirs: list(workDir).flatMap((ws) => list(path.join(workDir, ws)).map((d) => `${ws}/${d}`)),
    envs: list(path.join(cacheDir, "envs")),
  };
}

export class Rig {
  readonly calls = { n: 0 };
  private constructor(
    readonly root: string,
    readonly cacheDir: string,
    readonly workDir: string,
    readonly pmLog: string,
    readonly server: HyphaTestServer,
    readonly manager: AppManagerStandIn,
    readonly workerClient: HyphaServer,
    readonly worker: CondaWorker,
    readonly env: EnvManager,
    readonly registered: RegisteredWorkerService,
    readonly workerToken: string,
  ) {}

  static async start(options: RigOptions = {}): Promise<Rig> {
    const root = mkdtempSync(path.join(os.tmpdir(), "hcw-rel-"));
    const cacheDir = options.cacheDir ?? path.join(root, "cache");
    const workDir = path.join(root, "work");
    const pmLog = path.join(root, "pm.log");
    const server = await startHyphaTestServer();
    const clientId = `rel-worker-${path.basename(root).slice(-6)}`;
    const workerToken = server.issueToken({ workspace: "public", userId: "operator", clientId });
    registerSecret(workerToken);
    const envOptions: EnvOptions = {
      cacheDir,
      packageManager: options.packageManager ?? fakePmPath("micromamba"),
      bootstrap: false,
      channelMap: { "conda-forge": FIXTURE_CHANNEL_URL },
      defaultChannels: ["conda-forge"],
      allowPipOptions: false,
      createTimeoutMs: options.createTimeoutMs ?? 60_000,
    };
    // The worker's own token sits in the environment the env layer sees, as with `serve`.
    const toolEnv = fakePmEnv({ home: root, invocationLog: pmLog, ...options.knobs, extra: { HYPHA_TOKEN: workerToken } });
    const env = createEnvManager(envOptions, { env: toolEnv, lockStaleMs: 2000 });
    const workerClient = await connectToHypha({ server_url: server.url, workspace: "public", client_id: clientId, token: workerToken });
    const worker = new CondaWorker({
      env,
      workingDir: workDir,
      stopGraceMs: options.stopGraceMs ?? 1_000,
      workerWorkspace: "public",
      ...(options.logLimits ? { logLimits: options.logLimits } : {}),
    });
    const registered = await registerWorkerService(workerClient, worker, { serviceId: "conda-worker", visibility: "public" });
    const manager = await AppManagerStandIn.create(server);
    return new Rig(root, cacheDir, workDir, pmLog, server, manager, workerClient, worker, env, registered, workerToken);
  }

  /** Installs an in-memory app (no compile, no verification start) and returns its id. */
  async install(appId: string, main: string, manifest: Record<string, unknown> = {}, files: Record<string, string> = {}): Promise<string> {
    await this.manager.install(
      {
        manifest: { type: "conda-python", id: appId, name: appId, version: "0.1.0", entry_point: "main.py", channels: ["conda-forge"], dependencies: ["python"], startup_config: { wait_for_service: false }, ...manifest },
        files: { "main.py": main, ...files },
      },
      { ...ALICE, appId, verify: false, compile: false },
    );
    return appId;
  }

  /** A start config exactly like the server's, for an installed app, with a fresh client id and app token. */
  startConfig(appId: string, manifest: Record<string, unknown>, overrides: Record<string, unknown> = {}): Record<string, unknown> {
    this.calls.n += 1;
    const clientId = `_rapp_rel-${this.calls.n}-${Math.random().toString(36).slice(2, 8)}`;
    return {
      id: `${ALICE.workspace}/${clientId}`,
      app_id: appId,
      workspace: ALICE.workspace,
      client_id: clientId,
      server_url: this.server.url,
      app_files_base_url: `${this.server.url}/${ALICE.workspace}/artifacts/${appId}/files`,
      token: this.server.issueToken({ workspace: ALICE.workspace, clientId, userId: ALICE.user }),
      entry_point: "main.py",
      artifact_id: `${ALICE.workspace}/${appId}`,
      timeout: 30,
      manifest: { type: "conda-python", id: appId, entry_point: "main.py", channels: ["conda-forge"], dependencies: ["python"], startup_config: { wait_for_service: false }, ...manifest, _rtype: "pydantic-model" },
      ...overrides,
    };
  }

  /** Calls a worker method the Python-server way, as alice (the context keyword from the root client). */
  call(method: string, positional: unknown[], kwargs: Record<string, unknown> = {}): Promise<unknown> {
    return this.manager.callWithKwargs(this.registered.id, method, positional, { context: this.manager.contextFor(ALICE), ...kwargs });
  }

  leftovers(): Leftovers {
    return leftoversIn(this.cacheDir, this.workDir);
  }

  async close(): Promise<void> {
    await this.worker.shutdown().catch(() => undefined);
    await this.manager.close().catch(() => undefined);
    await this.registered.unregister().catch(() => undefined);
    await this.workerClient.disconnect().catch(() => undefined);
    await this.server.stop().catch(() => undefined);
    rmSync(this.root, { recursive: true, force: true });
  }
}
