/** Tests of the real-thing switch (server-target.ts). */
import { afterEach, describe, expect, it } from "vitest";
import { connectToHypha } from "../../src/hypha/connect.js";
import { startHyphaTestServer } from "./hypha-server.js";
import {
  SERVER_URL_VAR,
  TOKEN_VAR,
  openServerTarget,
  realServerConfig,
  realServerSkipReason,
  testServerOnlyReason,
  titleWithSkipReason,
  type ServerTarget,
} from "./server-target.js";

const saved = { url: process.env[SERVER_URL_VAR], token: process.env[TOKEN_VAR] };
const targets: ServerTarget[] = [];
const stops: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const [name, value] of [[SERVER_URL_VAR, saved.url], [TOKEN_VAR, saved.token]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await Promise.all(targets.splice(0).map((t) => t.stop()));
  await Promise.all(stops.splice(0).map((s) => s()));
});

describe("server target", () => {
  it("starts the test server when no real server is configured, with a token for the workspace", async () => {
    delete process.env[SERVER_URL_VAR];
    delete process.env[TOKEN_VAR];
    expect(testServerOnlyReason()).toBeUndefined();
    expect(realServerSkipReason()).toMatch(/set HYPHA_CONDA_TEST_SERVER_URL and HYPHA_CONDA_TEST_TOKEN/);
    const target = await openServerTarget({ workspace: "ws-user-target" });
    targets.push(target);
    expect(target.kind).toBe("test");
    expect(target.server).toBeDefined();
    const client = await connectToHypha({ server_url: target.url, token: target.token });
    expect(client.config.workspace).toBe("ws-user-target");
    await client.disconnect();
  });

  it("uses the configured server and learns the workspace from the token", async () => {
    const other = await startHyphaTestServer();
    stops.push(() => other.stop());
    process.env[SERVER_URL_VAR] = `${other.url}/`;
    process.env[TOKEN_VAR] = other.issueToken({ workspace: "ws-real-like", userId: "operator" });
    const target = await openServerTarget();
    targets.push(target);
    expect(target).toMatchObject({ kind: "real", url: other.url, workspace: "ws-real-like" });
    expect(target.server).toBeUndefined();
    expect(testServerOnlyReason()).toMatch(/needs the Hypha test server's knobs/);
    expect(titleWithSkipReason("restart test", testServerOnlyReason())).toMatch(/^restart test \[skipped: needs/);
  });

  it("rejects half a configuration and a URL that is not http(s)", () => {
    expect(() => realServerConfig({ [SERVER_URL_VAR]: "http://127.0.0.1:1" })).toThrow(/Set both/);
    expect(() => realServerConfig({ [SERVER_URL_VAR]: "ftp://x", [TOKEN_VAR]: "t" })).toThrow(/must be an http\(s\) URL/);
    expect(realServerConfig({})).toBeUndefined();
  });
});
