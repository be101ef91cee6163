/**
 * The test server's connection-refusal knob, against hypha 0.21.135 (websocket.py): the refusal of a
 * client racing to create a new user's workspace is a text error frame, then close 1001 with the same
 * reason; the racers let through and the connections after the refusals connect as usual.
 */
import WebSocket from "ws";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startHyphaTestServer, type HyphaTestServer } from "./hypha-server.js";

let server: HyphaTestServer;
beforeAll(async () => {
  server = await startHyphaTestServer();
});
afterAll(async () => {
  await server.stop();
});

interface Outcome {
  frames: Array<Record<string, unknown>>;
  close: { code: number; reason: string } | undefined;
}

/** Opens a socket, sends the auth frame, and collects what comes back for `settleMs` (or until closed). */
async function handshake(clientId: string, token: string, settleMs = 300): Promise<Outcome> {
  const socket = new WebSocket(server.wsUrl);
  const outcome: Outcome = { frames: [], close: undefined };
  socket.on("message", (data: Buffer, binary: boolean) => {
    if (!binary) outcome.frames.push(JSON.parse(data.toString("utf8")) as Record<string, unknown>);
  });
  const closed = new Promise<void>((resolve) => socket.once("close", (code: number, reason: Buffer) => {
    outcome.close = { code, reason: reason.toString("utf8") };
    resolve();
  }));
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  socket.send(JSON.stringify({ client_id: clientId, workspace: null, token, reconnection_token: null }));
  await Promise.race([closed, new Promise((r) => setTimeout(r, settleMs))]);
  if (!outcome.close) {
    socket.close();
    await closed;
  }
  return outcome;
}

it("lets `after` connections through, refuses `count` like the real server, then connects again", async () => {
  const token = (clientId: string) => server.issueToken({ workspace: "ws-user-new", userId: "new", clientId });
  server.faults.refuseWorkspaceRace({ count: 2, workspace: "ws-user-new", after: 1 });
  const other = await handshake("elsewhere", server.issueToken({ workspace: "ws-user-other", userId: "other", clientId: "elsewhere" }));
  expect(other.frames[0]).toMatchObject({ type: "connection_info", workspace: "ws-user-other" });
  const results = [];
  for (const id of ["racer-1", "racer-2", "racer-3", "racer-4"]) results.push(await handshake(id, token(id)));
  const message = "Failed to establish connection: Workspace already exists: ws-user-new";
  expect(results[0]!.frames[0]).toMatchObject({ type: "connection_info", workspace: "ws-user-new" });
  for (const refused of results.slice(1, 3)) {
    expect(refused.frames).toEqual([{ type: "error", message }]);
    expect(refused.close).toEqual({ code: 1001, reason: message });
  }
  expect(results[3]!.frames[0]).toMatchObject({ type: "connection_info", client_id: "racer-4" });
  expect(server.faults.refused).toEqual(["ws-user-new/racer-2", "ws-user-new/racer-3"]);
});
