/** --disable-ssl: a TLS server with a self-signed certificate is refused by default and accepted insecurely. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { InsecureWebSocket } from "../../src/hypha/insecure-websocket.js";

let dir: string;
let https: Server;
let wss: WebSocketServer;
let url: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "hcw-tls-"));
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-days", "1",
    "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem")], { stdio: "ignore" });
  https = createServer({ key: readFileSync(path.join(dir, "key.pem")), cert: readFileSync(path.join(dir, "cert.pem")) });
  wss = new WebSocketServer({ server: https });
  wss.on("connection", (socket) => socket.send("hello"));
  await new Promise<void>((resolve) => https.listen(0, "127.0.0.1", resolve));
  url = `wss://127.0.0.1:${(https.address() as AddressInfo).port}/ws`;
});

afterAll(async () => {
  for (const client of wss.clients) client.terminate();
  await new Promise((resolve) => wss.close(resolve));
  https.closeAllConnections();
  await new Promise((resolve) => https.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

function firstMessage(socket: WebSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    socket.once("message", (data) => resolve(String(data)));
    socket.once("error", reject);
  }).finally(() => socket.close()) as Promise<string>;
}

it("the default client refuses the self-signed certificate", async () => {
  await expect(firstMessage(new WebSocket(url))).rejects.toThrow(/self-signed|certificate/i);
});

it("InsecureWebSocket connects", async () => {
  expect(await firstMessage(new InsecureWebSocket(url))).toBe("hello");
});
