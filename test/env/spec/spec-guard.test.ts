import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { promises as fs } from "node:fs";
import { assertEnvSpecShape } from "../../../src/env/spec/spec-guard.js";
import { hasCode } from "../../../src/errors.js";
import type { EnvSpec } from "../../../src/env/types.js";
import { makeManager, makeSpec, makeTestCache, type TestCache } from "../support/env-fixtures.js";
import { readInvocationLog } from "../../support/fake-pm.js";

const good = makeSpec(["python", "tinylib"], ["tinywheel"], { MY_VAR: "1" });
const bad: Array<[string, Partial<EnvSpec> | Record<string, unknown>]> = [
  ["flag as conda spec", { conda: ["--override-channels"] }],
  ["newline in conda spec", { conda: ["python\nmalicious: true"] }],
  ["empty conda spec", { conda: [""] }],
  ["non-string conda spec", { conda: [42] }],
  ["conda not an array", { conda: "python" }],
  ["flag as channel", { channels: ["-c"] }],
  ["no channels", { channels: [] }],
  ["NUL in pip", { pip: ["a\0b"] }],
  ["overlong item", { conda: ["x".repeat(501)] }],
  ["PATH variable", { variables: { PATH: "/evil" } }],
  ["LD_PRELOAD variable", { variables: { LD_PRELOAD: "/evil.so" } }],
  ["HYPHA_ variable", { variables: { HYPHA_TOKEN: "x" } }],
  ["bad variable name", { variables: { "A-B": "1" } }],
  ["non-string variable", { variables: { A: 1 } }],
  ["bad subdir", { subdir: "../../x" }],
  ["bad schema", { schema: 0 }],
];

let cache: TestCache;
beforeEach(async () => {
  cache = await makeTestCache();
});
afterEach(async () => {
  await cache.cleanup();
});

describe("assertEnvSpecShape", () => {
  it("accepts a spec from the fixtures", () => {
    expect(() => assertEnvSpecShape(good)).not.toThrow();
  });

  it.each(bad)("refuses %s with E_SPEC before anything is touched", async (_name, change) => {
    const spec = { ...good, ...change } as EnvSpec;
    expect(() => assertEnvSpecShape(spec)).toThrow(/environment spec/);
    const error = await makeManager(cache).ensureEnv(spec).catch((e: unknown) => e);
    expect(hasCode(error, "E_SPEC")).toBe(true);
    await expect(fs.access(cache.cacheDir)).rejects.toThrow();
    expect(readInvocationLog(cache.log)).toEqual([]);
  });
});
