/**
 * The fast call path (src/hypha/fast-calls.ts) between real hypha-rpc clients and a Python app through the
 * Hypha test server: plain calls are answered by it (counted), keyword arguments reach Python as keywords,
 * require_context functions get the caller's context, heartbeats keep a long call alive past the caller's
 * method_timeout, and what it does not answer (callbacks, errors, 1 MB replies) still works through hypha-rpc.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectToHypha, type HyphaServer } from "../../src/hypha/connect.js";
import { CALLS_WS, startCallsRig, type CallsRig, type Service } from "./calls-app.js";
import type { RunningApp } from "./helpers.js";

let rig: CallsRig;
let app: RunningApp;
let caller: HyphaServer;
let svc: Service;
const WS = CALLS_WS;
const clientId = "fast-app";

beforeAll(async () => {
  rig = await startCallsRig(clientId, { kind: "hypha", connect: (id) => connectToHypha({ server_url: id.serverUrl, workspace: id.workspace, client_id: id.clientId, token: id.token }) });
  ({ app, caller, svc } = rig);
});
afterAll(async () => {
  await rig?.close();
});

describe("fast calls through Hypha", () => {
  it("answers plain calls itself, with the values hypha-rpc would deliver", async () => {
    const before = { ...app.host.fastCalls! };
    expect(await svc.scaled!(3, 5)).toBe(15);
    expect(await svc.info!()).toEqual({ pi: 3.5, list: [1, null, "x"], raw: new Uint8Array([97, 98]) });
    expect(await Promise.all(Array.from({ length: 50 }, (_, i) => svc.scaled!(i, 1)))).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(app.host.fastCalls!.fast - before.fast).toBe(52);
    expect(app.host.fastCalls!.slowReplies).toBe(before.slowReplies);
  });

  it("passes keyword arguments to Python as keywords, so its defaults apply", async () => {
    expect(await svc.scaled!({ x: 4, _rkwargs: true })).toBe(8);
    expect(await svc.scaled!({ x: 4, factor: 3, _rkwargs: true })).toBe(12);
  });

  it("gives require_context functions the caller's context, set by the server", async () => {
    const ctx = (await caller.getService(`${WS}/${clientId}:ctx`)) as unknown as Service;
    expect(await ctx.caller_of!()).toEqual({ ws: WS, from: `${WS}/${clientId}-caller` });
  });

  it("keeps a call alive past the caller's method_timeout with heartbeats, sync and async", async () => {
    expect(await svc.nap!(2.2)).toBe("slept");
    expect(await svc.anap!(2.2)).toBe("rested");
  }, 20_000);

  it("leaves callbacks, errors and replies too large for one message to hypha-rpc, and they work", async () => {
    const before = { ...app.host.fastCalls! };
    expect(await svc.apply!((x: number) => x * 3, 7)).toBe(21);
    expect(app.host.fastCalls!.delegated - before.delegated).toBeGreaterThanOrEqual(1);
    const error = (await svc.fail!().catch((e: unknown) => e)) as Error;
    expect(String(error)).toContain("no such thing");
    expect(error.message + (error.stack ?? "")).toMatch(/Traceback[\s\S]*main\.py", line \d+, in fail/);
    const mb = new Uint8Array(1024 * 1024).map((_, i) => i % 251);
    const back = (await svc.echo!(mb)) as Uint8Array;
    expect(Buffer.compare(Buffer.from(back), Buffer.from(mb))).toBe(0);
    expect(app.host.fastCalls!.slowReplies - before.slowReplies).toBe(2);
  });
});
