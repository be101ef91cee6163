/**
 * The app's own socket to Hypha (src/bridge/socket/, hypha_bridge/socket/): the app's Python holds the
 * connection, the worker's hypha-rpc speaks through it, and calls to plain functions are answered by the
 * app without a hop through the worker (counted by the app). Keyword arguments, caller context,
 * heartbeats past the caller's method_timeout, 1 MB calls and replies in message_cache pieces, and what the
 * app leaves to the worker (callbacks, errors, results it does not encode) behave as hypha-rpc's.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectToHypha, type HyphaServer } from "../../../src/hypha/connect.js";
import { defaultServiceMode } from "../../../src/worker/defaults.js";
import { CALLS_WS, startCallsRig, type CallsRig, type Service } from "../calls-app.js";
import type { RunningApp } from "../helpers.js";

let rig: CallsRig;
let app: RunningApp;
let caller: HyphaServer;
let svc: Service;
const WS = CALLS_WS;
const clientId = "socket-app";
const stats = async () => (await app.host.appSocketStats())!;

beforeAll(async () => {
  rig = await startCallsRig(clientId, defaultServiceMode());
  ({ app, caller, svc } = rig);
});
afterAll(async () => {
  await rig?.close();
});

describe("the app's own socket to Hypha", () => {
  it("answers plain calls in the app, with the values hypha-rpc would deliver, none through the worker", async () => {
    const before = await stats();
    const workerBefore = { ...app.host.fastCalls! };
    expect(await svc.scaled!(3, 5)).toBe(15);
    expect(await svc.info!()).toEqual({ pi: 3.5, list: [1, null, "x"], raw: new Uint8Array([97, 98]) });
    expect(await Promise.all(Array.from({ length: 50 }, (_, i) => svc.scaled!(i, 1)))).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect((await stats()).fast - before.fast).toBe(52);
    expect(app.host.fastCalls).toEqual(workerBefore);
  });

  it("passes keyword arguments to Python as keywords, so its defaults apply", async () => {
    expect(await svc.scaled!({ x: 4, _rkwargs: true })).toBe(8);
    expect(await svc.scaled!({ x: 4, factor: 3, _rkwargs: true })).toBe(12);
  });

  it("gives require_context functions the caller's context, set by the server", async () => {
    const before = await stats();
    const ctx = (await caller.getService(`${WS}/${clientId}:ctx`)) as unknown as Service;
    expect(await ctx.caller_of!()).toEqual({ ws: WS, from: `${WS}/${clientId}-caller` });
    expect((await stats()).fast - before.fast).toBe(1);
  });

  it("keeps a call alive past the caller's method_timeout with heartbeats, sync and async", async () => {
    expect(await svc.nap!(2.2)).toBe("slept");
    expect(await svc.anap!(2.2)).toBe("rested");
  }, 20_000);

  it("leaves callbacks and errors to the worker's hypha-rpc, and they work", async () => {
    const before = await stats();
    expect(await svc.apply!((x: number) => x * 3, 7)).toBe(21);
    expect((await stats()).forwarded - before.forwarded).toBeGreaterThanOrEqual(1);
    const error = (await svc.fail!().catch((e: unknown) => e)) as Error;
    expect(String(error)).toContain("no such thing");
    expect(error.message + (error.stack ?? "")).toMatch(/Traceback[\s\S]*main\.py", line \d+, in fail/);
  });

  it("has the worker's hypha-rpc send results the app does not encode itself (a function, a set)", async () => {
    const add5 = (await svc.adder!(5)) as unknown as (x: number) => Promise<number>;
    expect(await add5(10)).toBe(15);
    expect(((await svc.as_set!()) as number[]).sort()).toEqual([1, 2, 3]);
  });

  it("takes a 1 MB call in pieces and sends its 1 MB reply in pieces itself, as hypha-rpc does", async () => {
    const before = await stats();
    const workerBefore = { ...app.host.fastCalls! };
    const mb = new Uint8Array(1024 * 1024).map((_, i) => i % 251);
    const backs = (await Promise.all([svc.echo!(mb), svc.echo!(mb)])) as Uint8Array[];
    for (const back of backs) expect(Buffer.compare(Buffer.from(back), Buffer.from(mb))).toBe(0);
    expect((await stats()).fast - before.fast).toBe(2);
    // The worker's hypha-rpc only describes the app's built-in service to each caller (get_service).
    expect(app.host.fastCalls!.fast).toBe(workerBefore.fast);
    expect(app.host.fastCalls!.slowReplies).toBe(workerBefore.slowReplies);
  });

  it("hands a large call it does not answer itself (a callback among its arguments) to the worker's hypha-rpc whole", async () => {
    const mb = new Uint8Array(1024 * 1024).fill(7);
    expect(await svc.apply!((b: Uint8Array) => b.length + b[5]!, mb)).toBe(1024 * 1024 + 7);
  });

  it("carries the app's own calls to the server (get_service, list_services) through the worker's hypha-rpc", async () => {
    const listed = await caller.listServices({ workspace: WS });
    expect(listed.map((s) => String(s.id))).toContain(`${WS}/${clientId}:default`);
  });
});
