// mamba 1.x drives `env create` through the conda it wraps; conda < 23.7's `env create` has no --yes
// (conda_env/cli/main_create.py at 23.5.2 vs 23.7.0). Detection must see the wrapped conda and refuse it.
import { describe, expect, it } from "vitest";
import { parseVersionOutput, unsupportedReason } from "../../src/env/build/package-manager/detect.js";
import { buildCreateArgs } from "../../src/env/build/package-manager/argv.js";
import { cacheLayout } from "../../src/env/cache/cache-layout.js";

describe("mamba 1.x and its conda", () => {
  it("records the wrapped conda's version from the second --version line", () => {
    expect(parseVersionOutput("mamba 1.5.12\nconda 24.11.3\n", "/opt/bin/mamba")).toEqual({ name: "mamba", version: "1.5.12", condaVersion: "24.11.3" });
  });

  it.each([
    ["conda 23.5.2", true],
    ["conda 22.11.1", true],
    ["conda 23.7.0", false],
    ["conda 24.11.3", false],
  ])("mamba 1.4.9 over %s unsupported=%s", (condaLine, refused) => {
    const parsed = parseVersionOutput(`mamba 1.4.9\n${condaLine}\n`, "mamba")!;
    const reason = unsupportedReason({ ...parsed, path: "/opt/bin/mamba" });
    if (refused) expect(reason).toMatch(/older than 23\.7.*--yes/);
    else expect(reason).toBeUndefined();
  });

  it("keeps --yes in the mamba 1 argv, which is why the conda version matters", () => {
    const layout = cacheLayout("/cache");
    const args = buildCreateArgs({ name: "mamba", version: "1.5.12", path: "/opt/bin/mamba", condaVersion: "24.11.3" }, { prefix: "/cache/envs/x", envFile: "/tmp/w/environment.yml", channels: ["conda-forge"] }, layout);
    expect(args).toContain("--yes");
  });

  it("does not refuse mamba 2 or a mamba 1 whose conda line is missing", () => {
    expect(unsupportedReason({ name: "mamba", version: "2.0.5", path: "/m" })).toBeUndefined();
    expect(unsupportedReason({ name: "mamba", version: "1.5.12", path: "/m" })).toBeUndefined();
  });
});
