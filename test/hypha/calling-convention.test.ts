import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installKwargsAdapter, normaliseCall, wrapMethod, type NormalisedCall } from "../../src/hypha/calling-convention.js";
import { connectToHypha, type HyphaServer } from "../../src/hypha/connect.js";
import { connectInternalClient, startHyphaTestServer, type HyphaTestServer } from "../support/hypha-server.js";

const GET_LOGS = { name: "get_logs", params: ["session_id", "type", "offset", "limit"] };
const RPC_CTX = { ws: "ws-a", user: { id: "alice" }, from: "ws-a/c1" };

describe("normaliseCall", () => {
  it("maps positional arguments and takes hypha-rpc's context from the end", () => {
    const call = normaliseCall(GET_LOGS, ["s1", "stdout", 2, 5, RPC_CTX]);
    expect(call.params).toEqual({ session_id: "s1", type: "stdout", offset: 2, limit: 5 });
    expect(call.rpcContext).toEqual(RPC_CTX);
    expect(call.callerContext).toBeUndefined();
  });

  it("treats one positional argument past the declared ones as the caller's context", () => {
    const call = normaliseCall({ name: "stop", params: ["session_id"] }, ["s1", { ws: "ws-b" }, RPC_CTX]);
    expect(call.params.session_id).toBe("s1");
    expect(call.callerContext).toEqual({ ws: "ws-b" });
  });

  it("ignores undefined padding and leaves missing parameters undefined", () => {
    const call = normaliseCall(GET_LOGS, ["s1", undefined, undefined, RPC_CTX]);
    expect(call.params).toEqual({ session_id: "s1", type: undefined, offset: undefined, limit: undefined });
  });

  it("refuses too many arguments, unknown keywords and duplicate values", () => {
    expect(() => normaliseCall({ name: "stop", params: ["session_id"] }, ["a", {}, "x", RPC_CTX])).toThrow(/at most 2 arguments/);
    const envelope = (args: unknown[], kwargs: Record<string, unknown>) => ({ __hypha_conda_worker_kwargs_call__: { args, kwargs } });
    expect(() => normaliseCall(GET_LOGS, [envelope(["s1"], { colour: "red" }), RPC_CTX])).toThrow(/unexpected keyword argument 'colour'/);
    expect(() => normaliseCall(GET_LOGS, [envelope(["s1"], { session_id: "s2" }), RPC_CTX])).toThrow(/multiple values for argument 'session_id'/);
  });

  it("merges an adapter envelope: positional part first, then keywords", () => {
    const envelope = { __hypha_conda_worker_kwargs_call__: { args: ["s1"], kwargs: { limit: 3, context: { ws: "ws-z" } } } };
    const call = normaliseCall(GET_LOGS, [envelope, RPC_CTX]);
    expect(call.params).toEqual({ session_id: "s1", type: undefined, offset: undefined, limit: 3 });
    expect(call.callerContext).toEqual({ ws: "ws-z" });
    expect(call.rpcContext).toEqual(RPC_CTX);
  });

  it("declares the signature's parameter names to hypha-rpc", () => {
    const fn = wrapMethod(GET_LOGS, () => undefined);
    expect(fn.toString()).toBe("function (session_id, type, offset, limit, context) {}");
  });
});

describe("over hypha-rpc 0.21.40 against the test server", () => {
  let server: HyphaTestServer;
  let provider: HyphaServer;
  let internal: HyphaServer;
  let user: HyphaServer;
  const received: Record<string, NormalisedCall> = {};

  beforeAll(async () => {
    server = await startHyphaTestServer();
    provider = await connectToHypha({ server_url: server.url, token: server.issueToken({ workspace: "ws-worker", userId: "operator" }), client_id: "prov" });
    const record = (name: string) => (call: NormalisedCall) => {
      received[name] = call;
      return call.params;
    };
    await provider.registerService({
      id: "conv",
      config: { visibility: "public", require_context: true },
      start: wrapMethod({ name: "start", params: ["config"] }, record("start")),
      get_logs: wrapMethod(GET_LOGS, record("get_logs")),
    });
    // A naive method, as most JS workers write it, in a service without the adapter: the hazard.
    await provider.registerService({
      id: "naive",
      config: { visibility: "public", require_context: true },
      start: async (config: unknown, context: unknown) => ({ configType: typeof config, hasContext: context !== undefined }),
    });
    installKwargsAdapter(provider, "conv");
    internal = await connectInternalClient(server);
    user = await connectToHypha({ server_url: server.url, token: server.issueToken({ workspace: "ws-user-bob", userId: "bob" }), client_id: "bob-client" });
  });

  afterAll(async () => {
    await Promise.allSettled([provider?.disconnect(), internal?.disconnect(), user?.disconnect()]);
    await server?.stop();
  });

  it("start(config, context=ctx) the Python-server way reaches the method with both", async () => {
    const svc = await internal.getService("ws-worker/prov:conv");
    const ctx = { ws: "ws-user-bob", user: { id: "bob" }, from: "ws-user-bob/browser" };
    const result = await (svc.start as (...a: unknown[]) => Promise<unknown>)({ id: "ws-user-bob/x", n: 1 }, { context: ctx, _rkwargs: true });
    expect(result).toEqual({ config: { id: "ws-user-bob/x", n: 1 } });
    expect(received.start!.callerContext).toEqual(ctx);
    expect(received.start!.rpcContext?.ws).toBe("public");
    expect((received.start!.rpcContext?.user as { id: string }).id).toBe("root");
  });

  it("get_logs(session_id, type=, offset=, limit=, context=) maps every keyword", async () => {
    const svc = await internal.getService("ws-worker/prov:conv");
    await (svc.get_logs as (...a: unknown[]) => Promise<unknown>)("ws-user-bob/x", { type: "stdout", offset: 1, limit: 2, context: { ws: "ws-user-bob" }, _rkwargs: true });
    expect(received.get_logs!.params).toEqual({ session_id: "ws-user-bob/x", type: "stdout", offset: 1, limit: 2 });
    expect(received.get_logs!.callerContext).toEqual({ ws: "ws-user-bob" });
  });

  it("a positional call from a plain JS client works and carries the client's own rpc context", async () => {
    const svc = await user.getService("ws-worker/prov:conv");
    await (svc.get_logs as (...a: unknown[]) => Promise<unknown>)("ws-user-bob/y", "stderr", 0, 10);
    expect(received.get_logs!.params).toEqual({ session_id: "ws-user-bob/y", type: "stderr", offset: 0, limit: 10 });
    expect(received.get_logs!.rpcContext?.ws).toBe("ws-user-bob");
    expect(received.get_logs!.callerContext).toBeUndefined();
  });

  it("the hazard is real: without the adapter a naive start(config, context) loses config", async () => {
    const svc = await internal.getService("ws-worker/prov:naive");
    const result = await (svc.start as (...a: unknown[]) => Promise<unknown>)({ id: "a/b" }, { context: { ws: "x" }, _rkwargs: true });
    expect(result).toEqual({ configType: "undefined", hasContext: true });
  });
});
