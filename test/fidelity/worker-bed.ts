/**
 * The set-up the fidelity tests of the worker's Hypha flow share: the Hypha test server, a CondaWorker with
 * scripted sessions registered from workspace ws-ops, and the app-manager stand-in with apps installed.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { connectToHypha, type HyphaServer } from "../../src/hypha/connect.js";
import { registerWorkerService, type RegisteredWorkerService } from "../../src/hypha/service.js";
import { CondaWorker, type CondaWorkerOptions } from "../../src/worker/conda-worker.js";
import { AppManagerStandIn } from "../support/app-manager.js";
import { inertEnvManager } from "../support/fake-worker-session.js";
import { startHyphaTestServer, type HyphaTestServer } from "../support/hypha-server.js";

export const ALICE = { workspace: "ws-user-alice", user: "alice" };

export interface WorkerBed {
  tmp: string;
  server: HyphaTestServer;
  workerClient: HyphaServer;
  worker: CondaWorker;
  registered: RegisteredWorkerService;
  manager: AppManagerStandIn;
}

/** Opens the bed; `options` reach the CondaWorker (createSession at least); each app id is installed for ALICE. */
export async function openWorkerBed(prefix: string, options: Partial<CondaWorkerOptions>, appIds: string[]): Promise<WorkerBed> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), prefix));
  const server = await startHyphaTestServer();
  const workerClient = await connectToHypha({ server_url: server.url, workspace: "ws-ops", client_id: "conda-worker-host", token: server.issueToken({ workspace: "ws-ops", userId: "operator" }) });
  const worker = new CondaWorker({ env: inertEnvManager(tmp), workingDir: path.join(tmp, "work"), workerWorkspace: "ws-ops", ...options });
  const registered = await registerWorkerService(workerClient, worker, { serviceId: "conda-worker", visibility: "public" });
  const manager = await AppManagerStandIn.create(server);
  for (const appId of appIds) {
    await manager.install({ manifest: { type: "conda-python", entry_point: "main.py", dependencies: ["python"] }, files: { "main.py": "print(1)" } }, { ...ALICE, appId, verify: false, compile: false });
  }
  return { tmp, server, workerClient, worker, registered, manager };
}

export async function closeWorkerBed(bed: Partial<WorkerBed>): Promise<void> {
  await bed.manager?.close();
  await bed.registered?.unregister().catch(() => undefined);
  await bed.workerClient?.disconnect();
  await bed.server?.stop();
  if (bed.tmp) await rm(bed.tmp, { recursive: true, force: true });
}
