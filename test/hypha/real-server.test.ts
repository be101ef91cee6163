/**
 * Against a real Hypha server (HYPHA_CONDA_TEST_SERVER_URL + HYPHA_CONDA_TEST_TOKEN): the worker registers
 * with that token, is listed as a server-app-worker, and answers positional calls with its authorization
 * rules. Skipped, with the reason in its title, when no real server is configured.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectToHypha, type HyphaServer } from "../../src/hypha/connect.js";
import { serveWorker, type WorkerConnection } from "../../src/hypha/serve-connection.js";
import { CondaWorker } from "../../src/worker/conda-worker.js";
import { openServerTarget, realServerSkipReason, titleWithSkipReason, type ServerTarget } from "../support/server-target.js";
import { fakeSessionFactory, inertEnvManager } from "../support/fake-worker-session.js";

type Fn = (...args: unknown[]) => Promise<unknown>;
const skip = realServerSkipReason();

describe.skipIf(skip !== undefined)(titleWithSkipReason("the worker on a real Hypha server", skip), () => {
  let target: ServerTarget;
  let connection: WorkerConnection;
  let client: HyphaServer;
  let tmp: string;
  const serviceId = `conda-worker-test-${process.pid}`;

  beforeAll(async () => {
    target = await openServerTarget();
    tmp = await mkdtemp(path.join(os.tmpdir(), "hcw-real-"));
    const worker = new CondaWorker({ env: inertEnvManager(tmp), workingDir: path.join(tmp, "work"), createSession: fakeSessionFactory({ outcome: "complete" }) });
    connection = await serveWorker(worker, { serverUrl: target.url, token: target.token, service: { serviceId, visibility: "public" } });
    client = await connectToHypha({ server_url: target.url, token: target.token });
  }, 60_000);

  afterAll(async () => {
    await client?.disconnect();
    await connection?.close();
    await target?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("is listed as a server-app-worker and answers positional calls in its own workspace", async () => {
    const services = await client.listServices({ type: "server-app-worker" });
    expect(services.map((s) => String(s.id))).toContain(connection.serviceId);
    const svc = await client.getService(connection.serviceId!);
    expect(svc.supported_types).toEqual(["conda-python", "python-conda", "conda-jupyter-kernel"]);
    await (svc.prepare_workspace as Fn)(target.workspace);
    expect(await (svc.list_sessions as Fn)(target.workspace)).toEqual([]);
    expect(await (svc.get_load as Fn)()).toBe(0);
    await (svc.stop as Fn)(`${target.workspace}/never-started`);
    await expect((svc.get_logs as Fn)(`${target.workspace}/never-started`)).rejects.toThrow(/not found/);
    await expect((svc.list_sessions as Fn)("some-other-workspace")).rejects.toThrow(/Permission denied/);
    await expect((svc.stop as Fn)("some-other-workspace/x", { context: { ws: target.workspace }, _rkwargs: true })).rejects.toThrow(/Permission denied/);
  }, 60_000);
});
