import { describe, expect, test } from "vitest";
import { hashEnvSpec } from "../../../src/env/spec/hash.js";
import { buildEnvSpec, specFromEnvironmentFile, type SpecOptions } from "../../../src/env/spec/spec.js";

const BASE: SpecOptions = { channelMap: {}, defaultChannels: ["conda-forge"], allowPipOptions: false, subdir: "linux-64" };

interface Side {
  deps?: unknown;
  channels?: unknown;
  variables?: unknown;
  options?: Partial<SpecOptions>;
  yaml?: string;
}

function hashOf(side: Side): string {
  const options = { ...BASE, ...side.options };
  const spec = side.yaml !== undefined
    ? specFromEnvironmentFile(side.yaml, options)
    : buildEnvSpec({ dependencies: side.deps, channels: side.channels, variables: side.variables }, options);
  return hashEnvSpec(spec);
}

const EQUIVALENT: Array<[string, Side, Side]> = [
  ["no space before operator", { deps: ["numpy>=1.20"] }, { deps: ["numpy >=1.20"] }],
  ["one vs two spaces", { deps: ["numpy >=1.20"] }, { deps: ["numpy  >=1.20"] }],
  ["space after operator", { deps: ["numpy>=1.20"] }, { deps: ["numpy>= 1.20"] }],
  ["name case", { deps: ["NumPy"] }, { deps: ["numpy"] }],
  ["single = is fuzzy", { deps: ["numpy=1.26"] }, { deps: ["numpy 1.26.*"] }],
  ["=X.* and space form", { deps: ["numpy=1.26.*"] }, { deps: ["numpy 1.26.*"] }],
  ["== without build is exact bare version", { deps: ["numpy==1.26"] }, { deps: ["numpy 1.26"] }],
  ["=ver=build and space form", { deps: ["conda-forge::numpy=1.26=py311*"] }, { deps: ["conda-forge::numpy 1.26 py311*"] }],
  ["spaces around comma", { deps: ["numpy >=1.20, <2"] }, { deps: ["numpy>=1.20,<2"] }],
  ["version * means any", { deps: ["numpy *"] }, { deps: ["numpy"] }],
  ["conda order does not matter", { deps: ["python=3.11", "numpy"] }, { deps: ["numpy", "python=3.11"] }],
  ["duplicate conda spec", { deps: ["numpy", "numpy"] }, { deps: ["numpy"] }],
  ["string vs one-item list", { deps: "numpy" }, { deps: ["numpy"] }],
  ["pip order does not matter", { deps: ["python", { pip: ["requests", "rich"] }] }, { deps: [{ pip: ["rich", "requests"] }, "python"] }],
  ["pip PEP 503 name", { deps: ["python", { pip: ["Zope.Interface"] }] }, { deps: ["python", { pip: ["zope-interface"] }] }],
  ["pip specifier spacing and order", { deps: ["python", { pip: ["requests >= 2.31 , <3"] }] }, { deps: ["python", { pip: ["requests<3,>=2.31"] }] }],
  ["pip extras order/case", { deps: ["python", { pip: ["foo[B,a]"] }] }, { deps: ["python", { pip: ["foo[a,b]"] }] }],
  ["pip marker quoting", { deps: ["python", { pip: ["foo; python_version>'3.8'"] }] }, { deps: ["python", { pip: ['foo ; python_version > "3.8"'] }] }],
  ["empty pip section", { deps: ["python", { pip: [] }] }, { deps: ["python"] }],
  ["default channels", { deps: ["numpy"] }, { deps: ["numpy"], channels: ["conda-forge"] }],
  ["channel string vs list", { deps: ["numpy"], channels: "bioconda" }, { deps: ["numpy"], channels: ["bioconda"] }],
  ["repeated channel", { deps: ["numpy"], channels: ["a", "b", "a"] }, { deps: ["numpy"], channels: ["a", "b"] }],
  ["channel URL trailing slash", { deps: ["numpy"], channels: ["https://m.example/cf/"] }, { deps: ["numpy"], channels: ["https://m.example/cf"] }],
  ["channel-map applied before hashing", { deps: ["numpy"], channels: ["conda-forge"], options: { channelMap: { "conda-forge": "https://m.example/cf" } } }, { deps: ["numpy"], channels: ["https://m.example/cf"] }],
  ["channel-map applies to :: prefix", { deps: ["conda-forge::numpy"], options: { channelMap: { "conda-forge": "file:///srv/cf" } } }, { deps: ["file:///srv/cf::numpy"], channels: ["file:///srv/cf"] }],
  ["variable key order", { deps: ["numpy"], variables: { A: "1", B: "2" } }, { deps: ["numpy"], variables: { B: "2", A: "1" } }],
  ["environment.yml name ignored", { yaml: "name: one\ndependencies: [numpy]\n" }, { yaml: "name: two\ndependencies:\n  - numpy\n" }],
  ["environment.yml equals manifest", { yaml: "channels: [conda-forge]\ndependencies: [numpy>=1.20, {pip: [requests]}]\nvariables: {A: x}\n" }, { deps: ["numpy >=1.20", { pip: ["requests"] }], variables: { A: "x" } }],
];

const DIFFERENT: Array<[string, Side, Side]> = [
  ["=1.26 (fuzzy) vs ==1.26 (exact)", { deps: ["numpy=1.26"] }, { deps: ["numpy==1.26"] }],
  ["fuzzy vs exact space form", { deps: ["numpy 1.26.*"] }, { deps: ["numpy 1.26"] }],
  ["different operator", { deps: ["numpy>=1.20"] }, { deps: ["numpy>1.20"] }],
  ["different version", { deps: ["numpy>=1.20"] }, { deps: ["numpy>=1.21"] }],
  ["constraint vs none", { deps: ["numpy>=1.20"] }, { deps: ["numpy"] }],
  ["build string", { deps: ["numpy 1.26 py311*"] }, { deps: ["numpy 1.26 py312*"] }],
  ["channel-qualified vs not", { deps: ["conda-forge::numpy"] }, { deps: ["numpy"] }],
  ["or vs and", { deps: ["numpy 1.2|1.4"] }, { deps: ["numpy 1.2,1.4"] }],
  ["extra conda package", { deps: ["numpy"] }, { deps: ["numpy", "scipy"] }],
  ["channel order matters", { deps: ["numpy"], channels: ["conda-forge", "bioconda"] }, { deps: ["numpy"], channels: ["bioconda", "conda-forge"] }],
  ["different channel", { deps: ["numpy"], channels: ["conda-forge"] }, { deps: ["numpy"], channels: ["defaults"] }],
  ["different mirror", { deps: ["numpy"], options: { channelMap: { "conda-forge": "https://a.example/cf" } } }, { deps: ["numpy"], options: { channelMap: { "conda-forge": "https://b.example/cf" } } }],
  ["pip vs conda", { deps: ["python", "requests"] }, { deps: ["python", { pip: ["requests"] }] }],
  ["pip version", { deps: ["python", { pip: ["requests==2.31"] }] }, { deps: ["python", { pip: ["requests==2.32"] }] }],
  ["pip marker", { deps: ["python", { pip: ["foo"] }] }, { deps: ["python", { pip: ["foo; python_version > '3.8'"] }] }],
  ["pip extras", { deps: ["python", { pip: ["foo"] }] }, { deps: ["python", { pip: ["foo[bar]"] }] }],
  ["variable value", { deps: ["numpy"], variables: { A: "1" } }, { deps: ["numpy"], variables: { A: "2" } }],
  ["variable present", { deps: ["numpy"], variables: { A: "1" } }, { deps: ["numpy"] }],
  ["subdir", { deps: ["numpy"], options: { subdir: "linux-64" } }, { deps: ["numpy"], options: { subdir: "osx-arm64" } }],
  ["spec text vs variable", { deps: ["a"], variables: { B: "c" } }, { deps: ["a", "b"] }],
];

describe("spec equivalence table", () => {
  test("has enough cases", () => {
    expect(EQUIVALENT.length).toBeGreaterThanOrEqual(15);
    expect(DIFFERENT.length).toBeGreaterThanOrEqual(15);
  });
  test.each(EQUIVALENT)("equivalent: %s", (_label, a, b) => {
    expect(hashOf(a)).toBe(hashOf(b));
  });
  test.each(DIFFERENT)("different: %s", (_label, a, b) => {
    expect(hashOf(a)).not.toBe(hashOf(b));
  });
  test("every distinct case hashes to a distinct value", () => {
    const hashes = DIFFERENT.flatMap(([, a, b]) => [hashOf(a), hashOf(b)]);
    expect(hashes.every((h) => /^[0-9a-f]{64}$/.test(h))).toBe(true);
  });
});
