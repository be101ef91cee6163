/**
 * The bed of the worker tests that run real sessions through the app manager (test/fidelity/worker-bed.ts
 * scripts its sessions instead): a fresh Hypha test server, one CondaWorker
 * over the fake micromamba and the fixture channel, registered as `conda-worker` in `public` by its own
 * client, and the app-manager stand-in. `close()` takes it all down again.
 */
import path from "node:path";
import { createEnvManager } from "../../src/env/env-manager.js";
import { connectToHypha, type HyphaServer } from "../../src/hypha/connect.js";
import { registerWorkerService, type RegisteredWorkerService } from "../../src/hypha/service.js";
import { CondaWorker } from "../../src/worker/conda-worker.js";
import { AppManagerStandIn } from "./app-manager.js";
import { startHyphaTestServer, type HyphaTestServer } from "./hypha-server.js";
import { makeTempRoot, type TempRoot } from "./session-doubles.js";

export const BED_FAKE_MICROMAMBA = path.resolve("test/support/fake-pm/bin/micromamba");
export const BED_CHANNEL = `file://${path.resolve("fixtures/channel")}`;

export interface AppWorkerBed {
  server: HyphaTestServer;
  workerClient: HyphaServer;
  worker: CondaWorker;
  registered: RegisteredWorkerService;
  manager: AppManagerStandIn;
  cache: TempRoot;
  work: TempRoot;
  close(): Promise<void>;
}

export interface AppWorkerBedOptions {
  /** Added to the package manager's environment (knobs, pip settings). */
  toolEnv?: Record<string, string>;
  createTimeoutMs?: number;
}

/** Opens the bed; `name` labels temp dirs and the worker's client id. */
export async function openAppWorkerBed(name: string, options: AppWorkerBedOptions = {}): Promise<AppWorkerBed> {
  const cache = makeTempRoot(`hcw-${name}-cache-`);
  const work = makeTempRoot(`hcw-${name}-work-`);
  const server = await startHyphaTestServer();
  const clientId = `conda-worker-${name}`;
  const workerClient = await connectToHypha({ server_url: server.url, workspace: "public", client_id: clientId, token: server.issueToken({ workspace: "public", userId: "operator", clientId }) });
  const env = createEnvManager(
    { cacheDir: cache.dir, packageManager: BED_FAKE_MICROMAMBA, bootstrap: false, channelMap: { "conda-forge": BED_CHANNEL }, defaultChannels: ["conda-forge"], allowPipOptions: false, createTimeoutMs: options.createTimeoutMs ?? 120_000 },
    { env: { PATH: process.env.PATH, HOME: cache.dir, ...options.toolEnv } },
  );
  const worker = new CondaWorker({ env, workingDir: work.dir, stopGraceMs: 2_000 });
  const registered = await registerWorkerService(workerClient, worker, { serviceId: "conda-worker", visibility: "public" });
  const manager = await AppManagerStandIn.create(server);
  return {
    server, workerClient, worker, registered, manager, cache, work,
    async close() {
      await worker.shutdown().catch(() => undefined);
      await manager.close();
      await registered.unregister().catch(() => undefined);
      await workerClient.disconnect();
      await server.stop();
      cache.cleanup();
      work.cleanup();
    },
  };
}
