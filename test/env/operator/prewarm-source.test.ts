import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { specFromSource } from "../../../src/env/operator/prewarm-source.js";
import { hashEnvSpec } from "../../../src/env/spec/hash.js";
import type { SpecOptions } from "../../../src/env/spec/spec.js";

const FIX = fileURLToPath(new URL("../../fixtures-cli", import.meta.url));
const OPTIONS: SpecOptions = { channelMap: { "conda-forge": "file:///srv/channel" }, defaultChannels: ["conda-forge"], allowPipOptions: false };

let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "hcw-prewarm-source-"));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("specFromSource", () => {
  it("reads an app directory's manifest.yaml, with the channel map applied", async () => {
    const spec = await specFromSource(join(FIX, "apps/tiny"), OPTIONS);
    expect(spec.channels).toEqual(["file:///srv/channel"]);
    expect(spec.conda.some((s) => s.startsWith("tinylib"))).toBe(true);
  });

  it("gives the same spec for the same dependencies spelled differently (manifest.yml, alias type)", async () => {
    const a = await specFromSource(join(FIX, "apps/tiny"), OPTIONS);
    const b = await specFromSource(join(FIX, "apps/tiny-copy"), OPTIONS);
    expect(hashEnvSpec(b)).toBe(hashEnvSpec(a));
  });

  it("reads a manifest file directly, and manifest.json in a directory", async () => {
    const direct = await specFromSource(join(FIX, "apps/tiny/manifest.yaml"), OPTIONS);
    expect(hashEnvSpec(direct)).toBe(hashEnvSpec(await specFromSource(join(FIX, "apps/tiny"), OPTIONS)));
    const json = await specFromSource(join(FIX, "apps/jsonapp"), OPTIONS);
    expect(json.conda.some((s) => s.startsWith("tinyapp"))).toBe(true);
  });

  it("uses the app's environment.yml when the manifest has no dependencies", async () => {
    const spec = await specFromSource(join(FIX, "apps/envfile"), OPTIONS);
    expect(spec.conda.some((s) => s.startsWith("tinytool"))).toBe(true);
  });

  it("reads a bare environment.yml", async () => {
    const spec = await specFromSource(join(FIX, "envs/environment.yml"), OPTIONS);
    expect(spec.conda.some((s) => s.startsWith("tinylib"))).toBe(true);
  });

  it("refuses a missing source, a directory without manifest, and a bad spec with a clear error", async () => {
    await expect(specFromSource(join(work, "nope"), OPTIONS)).rejects.toMatchObject({ code: "E_MANIFEST", message: expect.stringContaining("does not exist") });
    await expect(specFromSource(work, OPTIONS)).rejects.toMatchObject({ code: "E_MANIFEST", message: expect.stringContaining("has no manifest.yaml") });
    await expect(specFromSource(join(FIX, "apps/badspec"), OPTIONS)).rejects.toMatchObject({ code: "E_MANIFEST" });
  });

  it("refuses unparseable YAML naming the file", async () => {
    const file = join(work, "manifest.yaml");
    await writeFile(file, "type: [unclosed\n");
    await expect(specFromSource(file, OPTIONS)).rejects.toMatchObject({ code: "E_MANIFEST", message: expect.stringContaining(file) });
  });
});
