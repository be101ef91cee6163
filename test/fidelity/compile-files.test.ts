// compile(manifest, files) receives files as hypha/apps.py builds them: {path|name, content, format}, where
// format "base64" may be a data URL and format "json" may carry an object. An environment.yml sent either
// way must be read, so a broken one fails the install and a good one passes.
import { describe, expect, it } from "vitest";
import { compileForWorker } from "../../src/worker/compile.js";

const MANIFEST = { type: "conda-python", entry_point: "main.py", dependencies: [], _rtype: "pydantic-model" };
const GOOD_YML = "channels: [conda-forge]\ndependencies:\n  - python=3.11\n  - numpy\n";
const BAD_YML = "channels: [conda-forge]\ndependencies:\n  - python=3.11\n  - 'numpy;rm -rf /'\n";
const OPTIONS = { channelMap: {}, defaultChannels: ["conda-forge"], allowPipOptions: false };

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

describe("compile reads environment.yml in every format the app manager sends", () => {
  it.each([
    ["text", { path: "environment.yml", content: GOOD_YML }],
    ["base64", { path: "environment.yml", content: b64(GOOD_YML), format: "base64" }],
    ["base64 data URL", { name: "environment.yml", content: `data:application/x-yaml;base64,${b64(GOOD_YML)}`, format: "base64" }],
    ["json object", { path: "environment.yml", content: { channels: ["conda-forge"], dependencies: ["python=3.11", "numpy"] }, format: "json" }],
  ])("accepts a good file sent as %s", async (_label, file) => {
    const [manifest, files] = await compileForWorker(MANIFEST, [file, { path: "main.py", content: "print(1)" }], {}, OPTIONS);
    expect(manifest._rtype).toBeUndefined();
    expect(files).toHaveLength(2);
  });

  it.each([
    ["base64 data URL", { path: "environment.yml", content: `data:text/yaml;base64,${b64(BAD_YML)}`, format: "base64" }],
    ["json object", { path: "environment.yml", content: { dependencies: ["numpy;rm -rf /"] }, format: "json" }],
  ])("still rejects a bad file sent as %s", async (_label, file) => {
    await expect(compileForWorker(MANIFEST, [file], {}, OPTIONS)).rejects.toThrow(/numpy/);
  });

  it("explains a data URL that is not base64", async () => {
    await expect(compileForWorker(MANIFEST, [{ path: "environment.yml", content: "data:text/yaml,channels: []", format: "base64" }], {}, OPTIONS)).rejects.toThrow(/;base64,/);
  });
});
