/** Which unhandled rejections the late-reply guard swallows (only hypha-rpc's after-disconnect noise). */
import { describe, expect, it } from "vitest";
import { isLateReplyRejection } from "../../src/bridge/guard.js";

describe("isLateReplyRejection", () => {
  it.each([
    new Error("Connection is closed"),
    new Error("Method call time out: services.default.add"),
    new Error("Parent session was closed: abc"),
    "Session not found: s1",
  ])("swallows %s", (reason) => {
    expect(isLateReplyRejection(reason)).toBe(true);
  });

  it.each([new TypeError("Cannot read properties of undefined (reading 'workspace')"), new Error("ENOENT: no such file"), 42])("keeps %s fatal", (reason) => {
    expect(isLateReplyRejection(reason)).toBe(false);
  });
});
