import { describe, expect, it } from "vitest";
import { assertMayStart, assertOperator, assertSessionAccess, assertWorkspaceAccess, isServerClient, resolveCaller } from "../../src/worker/authorize.js";

const ROOT = { ws: "public", user: { id: "root" }, from: "public/hypha-server-internal" };
const ALICE = { ws: "ws-user-alice", user: { id: "alice" }, from: "ws-user-alice/browser" };
const MALLORY = { ws: "ws-user-mallory", user: { id: "mallory" }, from: "ws-user-mallory/cli" };

describe("resolveCaller", () => {
  it("trusts the context keyword only when the direct caller is the server's root client", () => {
    expect(isServerClient(ROOT)).toBe(true);
    expect(isServerClient({ ws: "public", user: { id: "someone" } })).toBe(false);
    expect(isServerClient({ ws: "ws-x", user: { id: "root" } })).toBe(false);
    expect(resolveCaller(ROOT, ALICE)).toMatchObject({ workspace: "ws-user-alice", userId: "alice", trusted: false });
  });

  it("ignores a spoofed context keyword from anyone else", () => {
    expect(resolveCaller(MALLORY, ALICE)).toMatchObject({ workspace: "ws-user-mallory", userId: "mallory", trusted: false });
    expect(resolveCaller(MALLORY, { ws: "public", user: { id: "root" } }).trusted).toBe(false);
  });

  it("treats the root client without a context keyword, and in-process calls without one, as trusted", () => {
    expect(resolveCaller(ROOT, undefined).trusted).toBe(true);
    expect(resolveCaller(undefined, undefined).trusted).toBe(true);
    expect(resolveCaller(undefined, ALICE)).toMatchObject({ workspace: "ws-user-alice", trusted: false });
  });
});

describe("checks", () => {
  const alice = resolveCaller(ALICE, undefined);
  it("refuses sessions of another workspace with the same message whether or not they exist", () => {
    expect(() => assertSessionAccess(alice, "ws-user-alice/app1")).not.toThrow();
    let existing = "";
    let missing = "";
    try { assertSessionAccess(alice, "ws-user-bob/app1", "ws-user-bob"); } catch (e) { existing = (e as Error).message; }
    try { assertSessionAccess(alice, "ws-user-bob/app1"); } catch (e) { missing = (e as Error).message; }
    expect(existing).toMatch(/Permission denied/);
    expect(existing).toBe(missing);
    expect(() => assertSessionAccess(alice, "no-slash-id")).toThrow(/Permission denied/);
  });

  it("refuses workspace operations and starts outside the caller's workspace or the authorized list", () => {
    expect(() => assertWorkspaceAccess(alice, "ws-user-bob", "list_sessions")).toThrow(/list_sessions.*ws-user-bob/);
    expect(() => assertMayStart(alice, "ws-user-alice", ["ws-user-alice"])).not.toThrow();
    expect(() => assertMayStart(alice, "ws-user-alice", ["ws-team"])).toThrow(/--authorized-workspaces/);
    expect(() => assertMayStart(alice, "ws-user-bob", undefined)).toThrow(/Permission denied/);
  });

  it("allows shutdown only to trusted callers and the worker's own workspace", () => {
    expect(() => assertOperator(alice, "ws-ops", "shutdown")).toThrow(/shutdown/);
    expect(() => assertOperator(resolveCaller({ ws: "ws-ops", user: { id: "op" } }, undefined), "ws-ops", "shutdown")).not.toThrow();
    expect(() => assertOperator(resolveCaller(ROOT, undefined), "ws-ops", "shutdown")).not.toThrow();
  });
});
