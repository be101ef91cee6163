// The fake's match-spec parser, in-process: every spec form the fakes must understand.
import { describe, expect, it } from "vitest";
import { compareVersions, parseMatchSpec, recordMatches, SpecSyntaxError } from "./fake-pm/match-spec.mjs";

const rec = (version: string, build = "py_0", name = "tinylib") => ({ name, version, build });

describe("parseMatchSpec", () => {
  it.each([
    ["tinylib", { name: "tinylib", version: undefined, build: undefined }],
    ["tinylib>=1.0", { name: "tinylib", version: ">=1.0" }],
    ["tinylib >=1.0", { name: "tinylib", version: ">=1.0" }],
    ["tinylib >=1.0, <2", { name: "tinylib", version: ">=1.0,<2" }],
    ["tinylib=1.0", { name: "tinylib", version: "1.0.*" }],
    ["tinylib==1.0", { name: "tinylib", version: "==1.0" }],
    ["tinylib 1.0.*", { name: "tinylib", version: "1.0.*" }],
    ["tinylib=1.0=py*", { name: "tinylib", version: "1.0.*", build: "py*" }],
    ["tinylib 1.0 py_0", { name: "tinylib", version: "1.0", build: "py_0" }],
    ["conda-forge::tinylib>=2", { channel: "conda-forge", name: "tinylib", version: ">=2" }],
    ["file:///srv/chan::tinylib", { channel: "file:///srv/chan", name: "tinylib" }],
    ["TinyLib", { name: "tinylib" }],
  ])("%s", (text, expected) => {
    expect(parseMatchSpec(text)).toMatchObject(expected);
  });

  it.each(["", ">=1", "tiny lib extra words here", "tinylib>=1.0=x=y", "tinylib>=*"])("rejects %j", (text) => {
    expect(() => parseMatchSpec(text)).toThrow(SpecSyntaxError);
  });
});

describe("recordMatches", () => {
  const cases: Array<[string, string, boolean]> = [
    ["tinylib", "2.0", true],
    ["tinylib>=1.0", "1.0", true],
    ["tinylib>1.0", "1.0", false],
    ["tinylib<2", "1.0", true],
    ["tinylib<2", "2.0", false],
    ["tinylib<=2", "2.0", true],
    ["tinylib!=2.0", "2.0", false],
    ["tinylib>=1.0,<2", "2.0", false],
    ["tinylib<1|>=2", "2.0", true],
    ["tinylib=1.0", "1.0", true],
    ["tinylib=1", "1.0", true],
    ["tinylib=1", "10.0", false],
    ["tinylib==1.0", "1.0.0", true],
    ["tinylib==1.0", "1.0.1", false],
    ["tinylib 1.0.*", "1.0.3", true],
    ["tinylib 1.0.*", "1.1", false],
    ["tinylib ~=1.2", "1.9", true],
    ["tinylib ~=1.2", "2.0", false],
    ["python=3.11", "3.11.7", true],
    ["python>=3.7", "3.11.7", true],
  ];
  it.each(cases)("%s vs %s -> %s", (spec, version, expected) => {
    expect(recordMatches(parseMatchSpec(spec), rec(version, "py_0", spec.startsWith("python") ? "python" : "tinylib"))).toBe(expected);
  });

  it("checks the build glob and the name", () => {
    expect(recordMatches(parseMatchSpec("tinylib=1.0=py*"), rec("1.0", "py_0"))).toBe(true);
    expect(recordMatches(parseMatchSpec("tinylib=1.0=py*"), rec("1.0", "h123_0"))).toBe(false);
    expect(recordMatches(parseMatchSpec("tinylib"), rec("1.0", "py_0", "tinyapp"))).toBe(false);
  });
});

describe("compareVersions", () => {
  it("orders numerically by segment and pads with zeros", () => {
    expect(compareVersions("1.10", "1.9")).toBe(1);
    expect(compareVersions("1.0", "1.0.0")).toBe(0);
    expect(compareVersions("2.0", "10.0")).toBe(-1);
  });
});
