/**
 * The library as an embedder sees it: imported by package name (the built dist/ through package.json
 * "exports"), a CondaWorker served on a Hypha server, and an app started through it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CondaWorker, createEnvManager, resolveEnvOptions, serveWorker, type WorkerConnection } from "hypha-conda-worker";
import { connectToHypha, type HyphaServer } from "../src/hypha/connect.js";
import { FIXTURE_CHANNEL_URL, fakePmPath } from "./support/fake-pm.js";
import { startHyphaTestServer, type HyphaTestServer } from "./support/hypha-server.js";

let server: HyphaTestServer;
let connection: WorkerConnection | undefined;
let worker: CondaWorker;
let client: HyphaServer | undefined;
const dir = mkdtempSync(join(tmpdir(), "hcw-library-"));

beforeAll(async () => {
  server = await startHyphaTestServer();
});

afterAll(async () => {
  await client?.disconnect();
  await worker?.shutdown();
  await connection?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("library entry (import from 'hypha-conda-worker')", () => {
  it("serves a CondaWorker that the README's embedding example builds", async () => {
    const options = resolveEnvOptions(
      { "cache-dir": join(dir, "cache"), "package-manager": fakePmPath("micromamba"), "channel-map": [`conda-forge=${FIXTURE_CHANNEL_URL}`] },
      {},
    );
    const env = createEnvManager(options);
    worker = new CondaWorker({ env, workingDir: join(dir, "sessions") });
    const token = server.issueToken({ workspace: "ws-ops", userId: "operator" });
    connection = await serveWorker(worker, {
      serverUrl: server.url,
      workspace: "ws-ops",
      token,
      service: { serviceId: "embedded-worker", visibility: "public" },
    });
    expect(connection.serviceId).toMatch(/^ws-ops\/.+:embedded-worker$/);

    client = await connectToHypha({ server_url: server.url, token: server.issueToken({ workspace: "ws-ops", userId: "operator" }) });
    const service = await client.getService(connection.serviceId!);
    expect(service.type).toBe("server-app-worker");
    expect(service.supported_types).toEqual(["conda-python", "python-conda", "conda-jupyter-kernel"]);
    expect(await (service.get_load as () => Promise<number>)()).toBe(0);
  });
});
