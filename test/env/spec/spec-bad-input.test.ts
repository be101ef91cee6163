import { describe, expect, test } from "vitest";
import { WorkerError, type ErrorCode } from "../../../src/errors.js";
import { normalizeManifest } from "../../../src/env/spec/manifest.js";
import { buildEnvSpec, specFromEnvironmentFile, type SpecOptions } from "../../../src/env/spec/spec.js";

const BASE: SpecOptions = { channelMap: {}, defaultChannels: ["conda-forge"], allowPipOptions: false, subdir: "linux-64" };

interface BadCase {
  deps?: unknown;
  channels?: unknown;
  variables?: unknown;
  manifest?: unknown;
  yaml?: string;
  options?: Partial<SpecOptions>;
  code: ErrorCode;
  /** Text the message must contain: the offending item, JSON-quoted where it is a string. */
  names: string;
}

const q = (s: string) => JSON.stringify(s);

const CASES: Array<[string, BadCase]> = [
  ["leading dash", { deps: ["--override-channels"], code: "E_MANIFEST", names: q("--override-channels") }],
  ["newline", { deps: ["numpy\nscipy"], code: "E_MANIFEST", names: q("numpy\nscipy") }],
  ["NUL byte", { deps: ["numpy\u0000"], code: "E_MANIFEST", names: "NUL" }],
  ["tab control char", { deps: ["numpy\t>=1"], code: "E_MANIFEST", names: q("numpy\t>=1") }],
  ["semicolon", { deps: ["numpy; rm -rf /"], code: "E_MANIFEST", names: q("numpy; rm -rf /") }],
  ["dollar", { deps: ["numpy$HOME"], code: "E_MANIFEST", names: q("numpy$HOME") }],
  ["backtick", { deps: ["numpy`id`"], code: "E_MANIFEST", names: q("numpy`id`") }],
  ["ampersand", { deps: ["numpy && id"], code: "E_MANIFEST", names: q("numpy && id") }],
  ["redirect outside version", { deps: ["> /etc/passwd"], code: "E_MANIFEST", names: q("> /etc/passwd") }],
  ["parentheses", { deps: ["numpy(1)"], code: "E_MANIFEST", names: q("numpy(1)") }],
  ["quotes", { deps: ["numpy'"], code: "E_MANIFEST", names: q("numpy'") }],
  ["pipe as a command", { deps: ["numpy | sh"], code: "E_MANIFEST", names: q("numpy | sh") }],
  ["bracket form", { deps: ["numpy[version='>=1.20']"], code: "E_MANIFEST", names: "numpy[version=" }],
  ["empty string", { deps: [""], code: "E_MANIFEST", names: q("") }],
  ["blank string", { deps: ["   "], code: "E_MANIFEST", names: q("   ") }],
  ["number item", { deps: [42], code: "E_MANIFEST", names: "42" }],
  ["null item", { deps: [null], code: "E_MANIFEST", names: "null" }],
  ["two pip items", { deps: ["python", { pip: ["a"] }, { pip: ["b"] }], code: "E_MANIFEST", names: "more than one pip" }],
  ["unknown dict item", { deps: [{ npm: ["left-pad"] }], code: "E_MANIFEST", names: '{"npm":["left-pad"]}' }],
  ["too long", { deps: ["a".repeat(501)], code: "E_MANIFEST", names: "longer than 500" }],
  ["too many items", { deps: Array.from({ length: 513 }, (_, i) => `p${i}`), code: "E_MANIFEST", names: "more than 512" }],
  ["bad version constraint", { deps: ["numpy >=>1"], code: "E_MANIFEST", names: q("numpy >=>1") }],
  ["four parts", { deps: ["numpy 1 b c"], code: "E_MANIFEST", names: q("numpy 1 b c") }],
  ["dependencies not a list", { deps: { numpy: "1" }, code: "E_MANIFEST", names: '{"numpy":"1"}' }],
  ["pip option refused", { deps: ["python", { pip: ["--index-url https://evil.example/simple"] }], code: "E_MANIFEST", names: q("--index-url https://evil.example/simple") }],
  ["pip -e refused", { deps: ["python", { pip: ["-e ."] }], code: "E_MANIFEST", names: q("-e .") }],
  ["pip -i refused", { deps: ["python", { pip: ["-i https://x.example"] }], code: "E_MANIFEST", names: q("-i https://x.example") }],
  ["pip -f refused", { deps: ["python", { pip: ["-f https://x.example"] }], code: "E_MANIFEST", names: q("-f https://x.example") }],
  ["pip URL refused", { deps: ["python", { pip: ["https://x.example/a.whl"] }], code: "E_MANIFEST", names: q("https://x.example/a.whl") }],
  ["pip direct reference refused", { deps: ["python", { pip: ["a @ https://x.example/a.whl"] }], code: "E_MANIFEST", names: q("a @ https://x.example/a.whl") }],
  ["pip env expansion", { deps: ["python", { pip: ["foo==${HYPHA_TOKEN}"] }], code: "E_MANIFEST", names: q("foo==${HYPHA_TOKEN}") }],
  ["pip -r even when allowed", { deps: ["python", { pip: ["-r other.txt"] }], options: { allowPipOptions: true }, code: "E_MANIFEST", names: q("-r other.txt") }],
  ["pip URL credentials even when allowed", { deps: ["python", { pip: ["--index-url https://u:p@x.example/simple"] }], options: { allowPipOptions: true }, code: "E_MANIFEST", names: "credentials" }],
  ["pip bad marker", { deps: ["python", { pip: ["foo; import os"] }], code: "E_MANIFEST", names: q("foo; import os") }],
  ["pip bad name", { deps: ["python", { pip: ["-"] }], code: "E_MANIFEST", names: q("-") }],
  ["channel with space", { deps: ["numpy"], channels: ["conda forge"], code: "E_MANIFEST", names: q("conda forge") }],
  ["channel leading dash", { deps: ["numpy"], channels: ["--offline"], code: "E_MANIFEST", names: q("--offline") }],
  ["channel ftp", { deps: ["numpy"], channels: ["ftp://x.example/c"], code: "E_MANIFEST", names: q("ftp://x.example/c") }],
  ["channel credentials", { deps: ["numpy"], channels: ["https://user:pw@x.example/c"], code: "E_MANIFEST", names: "credentials" }],
  ["channel not allowed", { deps: ["numpy"], channels: ["bioconda"], options: { allowedChannels: ["conda-forge"] }, code: "E_CHANNEL_NOT_ALLOWED", names: q("bioconda") }],
  ["spec channel not allowed", { deps: ["evil::numpy"], options: { allowedChannels: ["conda-forge"] }, code: "E_CHANNEL_NOT_ALLOWED", names: q("evil") }],
  ["URL channel not allowed", { deps: ["numpy"], channels: ["https://evil.example/c"], options: { allowedChannels: ["conda-forge"] }, code: "E_CHANNEL_NOT_ALLOWED", names: q("https://evil.example/c") }],
  ["variable PATH", { deps: ["numpy"], variables: { PATH: "/tmp" }, code: "E_MANIFEST", names: q("PATH") }],
  ["variable LD_PRELOAD", { deps: ["numpy"], variables: { LD_PRELOAD: "/x.so" }, code: "E_MANIFEST", names: q("LD_PRELOAD") }],
  ["variable HYPHA_TOKEN", { deps: ["numpy"], variables: { HYPHA_TOKEN: "x" }, code: "E_MANIFEST", names: q("HYPHA_TOKEN") }],
  ["variable PIP_INDEX_URL", { deps: ["numpy"], variables: { PIP_INDEX_URL: "https://x" }, code: "E_MANIFEST", names: q("PIP_INDEX_URL") }],
  ["variable bad name", { deps: ["numpy"], variables: { "A-B": "1" }, code: "E_MANIFEST", names: q("A-B") }],
  ["variable NUL value", { deps: ["numpy"], variables: { A: "x\u0000y" }, code: "E_MANIFEST", names: q("A") }],
  ["variable object value", { deps: ["numpy"], variables: { A: { b: 1 } }, code: "E_MANIFEST", names: q("A") }],
  ["manifest wrong type", { manifest: { type: "web-python" }, code: "E_MANIFEST", names: q("web-python") }],
  ["manifest not a mapping", { manifest: "type: conda-python", code: "E_MANIFEST", names: q("type: conda-python") }],
  ["entry point absolute", { manifest: { type: "conda-python", entry_point: "/etc/passwd" }, code: "E_MANIFEST", names: q("/etc/passwd") }],
  ["entry point escapes", { manifest: { type: "conda-python", entry_point: "../x.py" }, code: "E_MANIFEST", names: q("../x.py") }],
  ["entry point NUL", { manifest: { type: "conda-python", entry_point: "a\u0000.py" }, code: "E_MANIFEST", names: "NUL" }],
  ["files_to_stage escape", { manifest: { type: "conda-python", files_to_stage: ["data/:../x/"] }, code: "E_MANIFEST", names: q("../x/") }],
  ["files_to_stage dir onto file", { manifest: { type: "conda-python", files_to_stage: ["data/:x"] }, code: "E_MANIFEST", names: q("data/:x") }],
  ["yaml custom tag", { yaml: "dependencies: !!python/object:os.system [id]\n", code: "E_MANIFEST", names: "environment.yml" }],
  ["yaml unknown key", { yaml: "dependencies: [numpy]\nscripts: [x]\n", code: "E_MANIFEST", names: q("scripts") }],
  ["yaml not a mapping", { yaml: "- numpy\n", code: "E_MANIFEST", names: "mapping" }],
  ["yaml too big", { yaml: `dependencies: [numpy]\n#${"x".repeat(300 * 1024)}\n`, code: "E_MANIFEST", names: "KiB" }],
  ["yaml bad dependency", { yaml: "dependencies: [\"numpy;id\"]\n", code: "E_MANIFEST", names: q("numpy;id") }],
];

function run(c: BadCase): void {
  const options = { ...BASE, ...c.options };
  if (c.manifest !== undefined) normalizeManifest(c.manifest);
  else if (c.yaml !== undefined) specFromEnvironmentFile(c.yaml, options);
  else buildEnvSpec({ dependencies: c.deps, channels: c.channels, variables: c.variables }, options);
}

describe("bad input", () => {
  test("has at least 25 cases", () => expect(CASES.length).toBeGreaterThanOrEqual(25));
  test.each(CASES)("%s", (_label, c) => {
    let caught: unknown;
    try {
      run(c);
    } catch (error) {
      caught = error;
    }
    expect(caught, "expected an error").toBeInstanceOf(WorkerError);
    const error = caught as WorkerError;
    expect(error.code).toBe(c.code);
    expect(error.message).toContain(c.names);
    expect(error.message).not.toMatch(/\n/);
    // Credentials written into a URL are never echoed back.
    expect(error.message).not.toMatch(/u:p@|user:pw@/);
  });
  test("the same inputs pass once the bad item is fixed", () => {
    expect(() => buildEnvSpec({ dependencies: ["numpy"], channels: ["conda-forge"], variables: { A: "1" } }, BASE)).not.toThrow();
    expect(() => buildEnvSpec({ dependencies: ["numpy"], channels: ["bioconda"] }, { ...BASE, allowedChannels: ["bioconda"] })).not.toThrow();
  });
});
