import { describe, expect, it } from "vitest";
import { isWirePlain } from "../../src/hypha/wire-plain.js";

describe("isWirePlain", () => {
  it("accepts what travels over hypha-rpc as it is", () => {
    for (const value of [null, 0, -1.5, NaN, "text", true, new Uint8Array(3), Buffer.from("ab"), [], {}, [1, "a", { b: [null, new Uint8Array(1)] }], Object.create(null)]) {
      expect(isWirePlain(value)).toBe(true);
    }
  });

  it("refuses what needs hypha-rpc's encoder or decoder", () => {
    const deep: unknown[] = [];
    let cursor = deep;
    for (let i = 0; i < 70; i += 1) {
      const next: unknown[] = [];
      cursor.push(next);
      cursor = next;
    }
    for (const value of [undefined, () => 1, 10n, new Float32Array(2), new Date(0), new Map(), new Set(), new (class Point { x = 1 })(),
      { _rtype: "method", _rtarget: "x", _rmethod: "y" }, [1, { f: () => 1 }], { nested: { _rtype: "ndarray" } }, deep]) {
      expect(isWirePlain(value)).toBe(false);
    }
  });
});
