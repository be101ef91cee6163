/**
 * The worker's first connection: temporary refusals (the real server's "Workspace already exists" race,
 * no server listening) are retried with back-off and each attempt is logged without the token; a rejected
 * token or a URL that is no Hypha server ends at once; the attempt bound ends with a message saying so.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connectToHypha } from "../../src/hypha/connect.js";
import { backoffDelayMs, classifyConnectFailure, HyphaConnectError } from "../../src/hypha/connect-retry.js";
import { WorkerConnection, type WorkerConnectionOptions } from "../../src/hypha/serve-connection.js";
import { createLogger } from "../../src/logger.js";
import { CondaWorker } from "../../src/worker/conda-worker.js";
import { startHyphaTestServer, type HyphaTestServer } from "../support/hypha-server.js";
import { fakeSessionFactory, inertEnvManager } from "../support/fake-worker-session.js";

let server: HyphaTestServer;
let notHypha: Server;
let tmp: string;
const open: WorkerConnection[] = [];

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "hcw-first-connect-"));
  server = await startHyphaTestServer();
  notHypha = createServer((_req, res) => res.writeHead(404, { "content-type": "text/plain" }).end("not found"));
  await new Promise<void>((resolve) => notHypha.listen(0, "127.0.0.1", resolve));
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await server?.stop();
  await new Promise<void>((resolve) => notHypha.close(() => resolve()));
  await rm(tmp, { recursive: true, force: true });
});

/** A worker connection whose log lines are kept; short back-off so the test does not wait long. */
function workerConnection(overrides: Partial<WorkerConnectionOptions>): { connection: WorkerConnection; lines: string[] } {
  const lines: string[] = [];
  const worker = new CondaWorker({ env: inertEnvManager(tmp), workingDir: path.join(tmp, "work"), createSession: fakeSessionFactory({ outcome: "serve" }) });
  const connection = new WorkerConnection(worker, {
    serverUrl: server.url,
    service: { serviceId: "conda-worker", visibility: "public" },
    firstConnect: { attempts: 5, initialDelayMs: 40, maxDelayMs: 200 },
    logger: createLogger({ level: "debug", write: (line) => lines.push(line) }),
    ...overrides,
  });
  open.push(connection);
  return { connection, lines };
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => new Error("expected a failure"), (error: unknown) => error);
}

describe("classifyConnectFailure on real failures", () => {
  it("tells a rejected token, a bad URL and temporary failures apart", async () => {
    const forged = await failureOf(connectToHypha({ server_url: server.url, token: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.forgedsignature" }));
    expect(classifyConnectFailure(forged).kind).toBe("rejected-token");
    const wrongWs = await failureOf(connectToHypha({ server_url: server.url, workspace: "ws-b", token: server.issueToken({ workspace: "ws-a", userId: "a" }) }));
    expect(classifyConnectFailure(wrongWs).kind).toBe("rejected-token");
    const http404 = await failureOf(connectToHypha({ server_url: `http://127.0.0.1:${(notHypha.address() as AddressInfo).port}` }));
    expect(classifyConnectFailure(http404)).toMatchObject({ kind: "bad-url", detail: expect.stringMatching(/Unexpected server response: 404/) });
    // A name that does not resolve, in the shape connectToHypha gives it (a live lookup would depend on the host's DNS).
    const lookup = Object.assign(new Error("getaddrinfo ENOTFOUND no-such-host.invalid"), { code: "ENOTFOUND" });
    expect(classifyConnectFailure(new Error(`WebSocket connection error: ${lookup.message}`, { cause: lookup })).kind).toBe("bad-url");
    const refused = await failureOf(connectToHypha({ server_url: "http://127.0.0.1:1" }));
    expect(classifyConnectFailure(refused)).toMatchObject({ kind: "transient", detail: expect.stringMatching(/ECONNREFUSED/) });
    server.faults.refuseWorkspaceRace({ count: 1, workspace: "ws-user-race" });
    const race = await failureOf(connectToHypha({ server_url: server.url, token: server.issueToken({ workspace: "ws-user-race", userId: "race" }) }));
    expect(classifyConnectFailure(race)).toEqual({ kind: "transient", detail: "ConnectionAbortedError: Failed to establish connection: Workspace already exists: ws-user-race" });
  });

  it("backs off exponentially up to the cap, with half of each wait random", () => {
    const policy = { attempts: 0, initialDelayMs: 1_000, maxDelayMs: 8_000 };
    expect([1, 2, 3, 4, 5].map((n) => backoffDelayMs(n, policy, () => 0))).toEqual([500, 1_000, 2_000, 4_000, 4_000]);
    expect([1, 2, 3, 4, 5].map((n) => backoffDelayMs(n, policy, () => 1))).toEqual([1_000, 2_000, 4_000, 8_000, 8_000]);
  });
});

describe("WorkerConnection.start", () => {
  it("retries the real server's 'Workspace already exists' refusals, logging each attempt without the token", async () => {
    const token = server.issueToken({ workspace: "ws-user-fleet", userId: "fleet" });
    server.faults.refuseWorkspaceRace({ count: 2, workspace: "ws-user-fleet" });
    const { connection, lines } = workerConnection({ workspace: "ws-user-fleet", token, clientId: "retrying-worker" });
    expect(await connection.start()).toBe("ws-user-fleet/retrying-worker:conda-worker");
    expect(server.faults.refused).toContain("ws-user-fleet/retrying-worker");
    const attempts = lines.filter((l) => /connection attempt \d\/5 .* failed: .*Workspace already exists: ws-user-fleet; retrying in \d+\.\d s/.test(l));
    expect(attempts).toHaveLength(2);
    expect(lines.some((l) => /connected to .* on attempt 3\/5/.test(l))).toBe(true);
    expect(lines.join("")).not.toContain(token);
  });

  it("gives up at once on a token the server rejects, saying so", async () => {
    const { connection, lines } = workerConnection({ token: "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.forgedsignature" });
    const error = await failureOf(connection.start());
    expect(error).toBeInstanceOf(HyphaConnectError);
    expect(error).toMatchObject({ code: "E_HYPHA", kind: "rejected-token", message: expect.stringMatching(/rejected the worker's credentials.*not retried.*--token \(HYPHA_TOKEN\)/) });
    expect(lines.filter((l) => l.includes("connection attempt"))).toHaveLength(1);
  });

  it("gives up at once on a URL where no Hypha server answers", async () => {
    const { connection } = workerConnection({ serverUrl: `http://127.0.0.1:${(notHypha.address() as AddressInfo).port}` });
    expect(await failureOf(connection.start())).toMatchObject({ kind: "bad-url", message: expect.stringMatching(/No Hypha server answers.*--server-url \(HYPHA_SERVER_URL\)/) });
  });

  it("ends the retries when closed, without waiting out the back-off", async () => {
    const { connection, lines } = workerConnection({ serverUrl: "http://127.0.0.1:1", firstConnect: { attempts: 0, initialDelayMs: 60_000, maxDelayMs: 60_000 } });
    const result = failureOf(connection.start());
    await expect.poll(() => lines.some((l) => /connection attempt 1 to .* retrying in \d+\.\d s/.test(l))).toBe(true);
    await connection.close();
    expect(await result).toMatchObject({ kind: "closed", message: expect.stringMatching(/Stopped before the connection/) });
  });

  it("keeps a password in the server URL out of logs and errors", async () => {
    const { connection, lines } = workerConnection({ serverUrl: "http://operator:hunter2-secret@127.0.0.1:1", firstConnect: { attempts: 1 } });
    const error = (await failureOf(connection.start())) as Error;
    expect(error.message).toMatch(/1 attempt\(s\) failed/);
    expect(`${error.message}${lines.join("")}`).not.toContain("hunter2-secret");
  });

  it("stops after the configured number of attempts when the failure stays temporary", async () => {
    const { connection, lines } = workerConnection({ serverUrl: "http://127.0.0.1:1", firstConnect: { attempts: 3, initialDelayMs: 20, maxDelayMs: 40 } });
    const error = await failureOf(connection.start());
    expect(error).toMatchObject({ kind: "attempts-exhausted", message: expect.stringMatching(/3 attempt\(s\) failed with temporary errors \(last: .*ECONNREFUSED.*--connect-attempts \(HYPHA_CONDA_CONNECT_ATTEMPTS/) });
    expect(lines.filter((l) => l.includes("retrying in"))).toHaveLength(2);
    expect(lines.filter((l) => l.includes("giving up (attempts-exhausted)"))).toHaveLength(1);
  });
});
