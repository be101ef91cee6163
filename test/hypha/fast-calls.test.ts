/**
 * The fast call path's rules, on a stand-in for hypha-rpc's RPC object: which calls it answers, what it
 * sends (the two-segment message hypha-rpc's resolve and heartbeat send), and what it hands to hypha-rpc.
 * test/bridge/fast-calls-e2e.test.ts runs it between real hypha-rpc clients and a Python app.
 */
import { decodeMulti } from "@msgpack/msgpack";
import { describe, expect, it, vi } from "vitest";
import type { HyphaServer } from "../../src/hypha/connect.js";
import { installFastCalls, type FastCaller } from "../../src/hypha/fast-calls.js";

type Fn = (...args: unknown[]) => unknown;

function fakeRpc(annotation: Record<string, unknown> = { visibility: "public" }) {
  const original = vi.fn();
  const other = vi.fn();
  const add: Fn = (a, b) => (a as number) + (b as number);
  const sent: Array<Record<string, unknown>> = [];
  const slow: Array<{ kind: string; value: unknown }> = [];
  const rpc = {
    _event_handlers: { method: [other, original as Fn] as Fn[] },
    _boundHandleMethod: original,
    _object_store: { services: { default: { add, nested: { add } } } },
    _method_annotations: new Map<unknown, unknown>([[add, annotation]]),
    _local_workspace: "ws-a",
    _client_id: "app",
    _long_message_chunk_size: 1024,
    _emit_message: vi.fn(async (bytes: Uint8Array) => {
      const [main, extra] = [...decodeMulti(bytes)] as Array<Record<string, unknown>>;
      sent.push({ ...main, ...extra });
    }),
    _expand_promise: (data: { session: string }) => ({ session: data.session }),
    _decode: async () => ({
      resolve: async (value: unknown) => { slow.push({ kind: "resolve", value }); },
      reject: async (value: unknown) => { slow.push({ kind: "reject", value }); },
    }),
  };
  const fire = (data: Record<string, unknown>) => {
    for (let i = rpc._event_handlers.method.length - 1; i >= 0; i -= 1) rpc._event_handlers.method[i]!(data);
  };
  return { rpc, server: { rpc } as unknown as HyphaServer, original, other, add, sent, slow, fire };
}

const call = (extra: Record<string, unknown> = {}) => ({
  type: "method", from: "ws-a/caller", to: "ws-a/app", method: "services.default.add", session: "s1",
  promise: "*", t: 15, args: [2, 3], ctx: { from: "ws-a/caller", ws: "ws-a" }, ...extra,
});
const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

describe("installFastCalls", () => {
  it("answers a plain call itself with hypha-rpc's resolve message, and keeps the other handlers", async () => {
    const t = fakeRpc();
    const callFast = vi.fn<FastCaller>(async (fn, args) => (fn as Fn)(...args));
    const stats = installFastCalls(t.server, callFast)!;
    t.fire(call());
    await settle();
    expect(t.original).not.toHaveBeenCalled();
    expect(t.other).toHaveBeenCalledTimes(1);
    expect(callFast).toHaveBeenCalledWith(t.add, [2, 3], undefined, undefined);
    expect(t.sent).toEqual([{ type: "method", from: "ws-a/app", to: "ws-a/caller", method: "s1.resolve", parent: "s1", args: [5] }]);
    expect(stats).toEqual({ fast: 1, delegated: 0, slowReplies: 0 });
  });

  it("passes keyword arguments as keywords and hypha-rpc's context to require_context functions", async () => {
    const t = fakeRpc({ visibility: "public", require_context: true });
    const callFast = vi.fn<FastCaller>(async () => "ok");
    installFastCalls(t.server, callFast);
    t.fire(call({ to: "app", method: "services.default.nested.add", args: [1, { b: 2, _rkwargs: true }], with_kwargs: true }));
    await settle();
    expect(callFast).toHaveBeenCalledWith(t.add, [1], { b: 2 }, { from: "ws-a/caller", ws: "ws-a", to: "ws-a/app" });
  });

  it("hands hypha-rpc every call it does not answer itself, untouched", async () => {
    const cases: Array<[string, Record<string, unknown>, Record<string, unknown>?]> = [
      ["encrypted", { _enc: { v: 2 } }],
      ["encoded promise", { promise: { resolve: {} } }],
      ["a callback argument", { args: [{ _rtype: "method", _rtarget: "c", _rmethod: "m" }, 1] }],
      ["not a service method", { method: "s9.resolve" }],
      ["an unknown function", { method: "services.default.nope" }],
      ["protected, from another workspace", { from: "ws-b/caller" }, { visibility: "protected" }],
      ["trusted keys", {}, { visibility: "public", trusted_keys: new Set(["k"]) }],
      ["another workspace's target", { to: "ws-c/app" }],
    ];
    for (const [name, extra, annotation] of cases) {
      const t = fakeRpc(annotation);
      const callFast = vi.fn<FastCaller>(async () => 1);
      const stats = installFastCalls(t.server, callFast)!;
      const message = call(extra);
      t.fire(message);
      expect(t.original, name).toHaveBeenCalledWith(message);
      expect(callFast, name).not.toHaveBeenCalled();
      expect(stats.delegated, name).toBe(1);
    }
    const notOurs = fakeRpc();
    installFastCalls(notOurs.server, () => undefined);
    notOurs.fire(call());
    expect(notOurs.original).toHaveBeenCalledTimes(1);
  });

  it("replies through hypha-rpc when the answer is an error, too large for one message, or not plain", async () => {
    const t = fakeRpc();
    const results: Array<() => Promise<unknown>> = [
      async () => { throw new Error("boom"); },
      async () => new Uint8Array(4096),
      async () => ({ f: () => 1 }),
    ];
    const stats = installFastCalls(t.server, () => results.shift()!())!;
    for (let i = 0; i < 3; i += 1) t.fire(call({ session: `s${i}` }));
    await settle();
    expect(t.sent).toEqual([]);
    expect(t.slow.map((s) => s.kind)).toEqual(["reject", "resolve", "resolve"]);
    expect(String(t.slow[0]!.value)).toContain("boom");
    expect(stats.slowReplies).toBe(3);
  });

  it("sends the caller heartbeats every t seconds while the call runs, and none after", async () => {
    vi.useFakeTimers();
    try {
      const t = fakeRpc();
      let finish!: (value: unknown) => void;
      installFastCalls(t.server, () => new Promise((resolve) => { finish = resolve; }));
      t.fire(call({ t: 0.5 }));
      await vi.advanceTimersByTimeAsync(1600);
      expect(t.sent).toEqual(Array(3).fill({ type: "method", from: "ws-a/app", to: "ws-a/caller", method: "s1.heartbeat", parent: "s1", args: [] }));
      finish(7);
      await vi.advanceTimersByTimeAsync(2000);
      expect(t.sent.length).toBe(4);
      expect(t.sent[3]).toMatchObject({ method: "s1.resolve", args: [7] });
    } finally {
      vi.useRealTimers();
    }
  });

  it("runs a call without a promise and answers nothing", async () => {
    const t = fakeRpc();
    const callFast = vi.fn<FastCaller>(async () => 1);
    installFastCalls(t.server, callFast);
    t.fire(call({ promise: undefined, session: undefined }));
    await settle();
    expect(callFast).toHaveBeenCalledTimes(1);
    expect(t.sent).toEqual([]);
  });

  it("changes nothing on a hypha-rpc without the internals it needs", () => {
    expect(installFastCalls({ rpc: {} } as unknown as HyphaServer, () => undefined)).toBeUndefined();
    expect(installFastCalls({} as unknown as HyphaServer, () => undefined)).toBeUndefined();
  });
});
