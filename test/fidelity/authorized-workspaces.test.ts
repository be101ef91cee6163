// hypha/core/workspace.py register_service refuses `authorized_workspaces` unless visibility is "protected".
// The test server now does too; the worker's own service sets the list only when it is protected.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectToHypha, type HyphaServer } from "../../src/hypha/connect.js";
import { createWorkerService } from "../../src/hypha/service.js";
import { CondaWorker } from "../../src/worker/conda-worker.js";
import { inertEnvManager } from "../support/fake-worker-session.js";
import { startHyphaTestServer, type HyphaTestServer } from "../support/hypha-server.js";

let server: HyphaTestServer;
let client: HyphaServer;
let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "hcw-fidelity-authws-"));
  server = await startHyphaTestServer();
  client = await connectToHypha({ server_url: server.url, workspace: "ws-ops", client_id: "svc-host", token: server.issueToken({ workspace: "ws-ops", userId: "operator" }) });
});
afterAll(async () => {
  await client?.disconnect();
  await server?.stop();
  await rm(tmp, { recursive: true, force: true });
});

describe("authorized_workspaces", () => {
  it("is refused with public visibility, accepted with protected", async () => {
    await expect(client.registerService({ id: "bad", config: { visibility: "public", authorized_workspaces: ["public"] }, f: () => 1 })).rejects.toThrow(/only be set when visibility is 'protected'/);
    const ok = await client.registerService({ id: "good", config: { visibility: "protected", authorized_workspaces: ["public"] }, f: () => 1 });
    expect(ok.id).toBe("ws-ops/svc-host:good");
  });

  it("the worker service carries it only when protected, so both registrations pass", async () => {
    const worker = new CondaWorker({ env: inertEnvManager(tmp), workingDir: path.join(tmp, "work") });
    for (const visibility of ["public", "protected"] as const) {
      const service = createWorkerService(worker, { serviceId: `w-${visibility}`, visibility });
      const config = service.config as Record<string, unknown>;
      expect("authorized_workspaces" in config).toBe(visibility === "protected");
      await expect(client.registerService(service)).resolves.toMatchObject({ id: `ws-ops/svc-host:w-${visibility}` });
    }
  });
});
