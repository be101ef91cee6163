import { describe, expect, test } from "vitest";
import { defaultCacheDir, parseBooleanText, parseCount, parseDuration, parseSeconds, parseSize } from "../src/config.js";

describe("config parsers", () => {
  test.each([
    ["10G", 10 * 1024 ** 3], ["500MB", 500 * 1024 ** 2], ["1.5GiB", 1.5 * 1024 ** 3], ["123", 123], ["4k", 4096], ["2 TB", 2 * 1024 ** 4],
  ])("size %s", (text, bytes) => expect(parseSize(text)).toBe(bytes));
  test.each(["", "G", "10X", "-1G", "1e3", "ten"])("bad size %j", (text) => expect(parseSize(text)).toBeUndefined());
  test.each([
    ["7d", 7 * 86_400_000], ["12h", 43_200_000], ["30m", 1_800_000], ["45s", 45_000], ["2w", 1_209_600_000], ["90", 90_000],
  ])("duration %s", (text, ms) => expect(parseDuration(text)).toBe(ms));
  test.each(["", "d", "7y", "-1d", "soon"])("bad duration %j", (text) => expect(parseDuration(text)).toBeUndefined());
  test("counts, seconds and booleans", () => {
    expect(parseCount("20")).toBe(20);
    expect(parseCount("2.5")).toBeUndefined();
    expect(parseSeconds("0")).toBeUndefined();
    expect(parseSeconds("1.5")).toBe(1.5);
    expect(parseBooleanText("yes")).toBe(true);
    expect(parseBooleanText("0")).toBe(false);
    expect(parseBooleanText("maybe")).toBeUndefined();
  });
  test("default cache dir", () => {
    expect(defaultCacheDir({ XDG_CACHE_HOME: "/x", HOME: "/h" })).toBe("/x/hypha-conda-worker");
    expect(defaultCacheDir({ XDG_CACHE_HOME: "relative", HOME: "/h" })).toBe("/h/.cache/hypha-conda-worker");
    expect(defaultCacheDir({ HOME: "/h" })).toBe("/h/.cache/hypha-conda-worker");
  });
});
