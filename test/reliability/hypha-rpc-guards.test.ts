/**
 * A hypha-rpc 0.21.40 hazard that would end the worker process, guarded in src/hypha/connect.ts: the
 * process-wide `unhandledRejection` listener installed by a process's FIRST connection throws a TypeError
 * once that connection closed while others live on (the worker's connection rebuilt by the watchdog, app
 * connections open), so the next unhandled rejection kills the process. Run in a child `node` over the
 * built dist/ (in this process the test server's own hypha-rpc instance would be the first).
 * (The other hazard, an undecodable frame stalling the socket, is in hostile-input.test.ts.)
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startHyphaTestServer, type HyphaTestServer } from "../support/hypha-server.js";
import { REPO_ROOT } from "./support/serve-process.js";

let server: HyphaTestServer;
let dir: string;
beforeAll(async () => {
  server = await startHyphaTestServer();
  dir = mkdtempSync(path.join(os.tmpdir(), "hcw-rel-guard-"));
});
afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

it("a worker process survives an unhandled rejection after its first Hypha connection was replaced", async () => {
  const script = path.join(dir, "first-connection.mjs");
  writeFileSync(
    script,
    [
      `import { connectToHypha } from ${JSON.stringify(path.join(REPO_ROOT, "dist", "hypha", "connect.js"))};`,
      "const [url, t1, t2] = process.argv.slice(2);",
      "const first = await connectToHypha({ server_url: url, token: t1 });",
      "const second = await connectToHypha({ server_url: url, token: t2 });",
      "await first.disconnect();",
      "Promise.reject(new Error('a late reply nobody awaits'));",
      "setTimeout(async () => { await second.disconnect(); console.log('ALIVE'); process.exit(0); }, 300);",
    ].join("\n"),
  );
  const tokens = ["a", "b"].map((u) => server.issueToken({ workspace: `ws-user-${u}`, userId: u }));
  const result = await execa(process.execPath, [script, server.url, ...tokens], { reject: false, timeout: 30_000 });
  expect(String(result.stderr)).not.toMatch(/_unhandledRejectionHandler is not a function/);
  expect(result.stdout).toContain("ALIVE");
  expect(result.exitCode).toBe(0);
});
