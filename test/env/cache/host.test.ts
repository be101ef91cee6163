import { describe, expect, it } from "vitest";
import os from "node:os";
import { hostIdentity } from "../../../src/env/cache/host.js";
import { hasCode } from "../../../src/errors.js";

describe("hostIdentity", () => {
  it("is the OS host name unless HYPHA_CONDA_HOSTNAME names another", () => {
    expect(hostIdentity({})).toBe(os.hostname());
    expect(hostIdentity({ HYPHA_CONDA_HOSTNAME: "" })).toBe(os.hostname());
    expect(hostIdentity({ HYPHA_CONDA_HOSTNAME: "gpu-box-2.cluster.local" })).toBe("gpu-box-2.cluster.local");
    expect(hostIdentity({ HYPHA_CONDA_HOSTNAME: "node_07" })).toBe("node_07");
  });

  it("refuses a name that is not a host name, saying what a good one looks like", () => {
    for (const bad of ["-leading-dash", "has space", "a/b", "tab\there", "é", ".hidden", "x".repeat(254)]) {
      expect(() => hostIdentity({ HYPHA_CONDA_HOSTNAME: bad }), bad).toThrow(
        expect.toSatisfy((e) => hasCode(e, "E_CONFIG") && /HYPHA_CONDA_HOSTNAME .* is not a host name: use 1-253 letters/.test((e as Error).message)),
      );
    }
  });
});
