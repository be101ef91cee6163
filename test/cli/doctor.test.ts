import { hostname } from "node:os";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { execa } from "execa";
import { CLI, makeSandbox, type Sandbox } from "./operator-sandbox.js";

let box: Sandbox;
beforeEach(async () => {
  box = await makeSandbox();
});
afterEach(async () => {
  await box.cleanup();
});

describe("hypha-conda-worker doctor (built CLI)", () => {
  it("--json is one clean JSON object with every field an operator needs", async () => {
    const r = await box.cli(["doctor", "--json"]);
    expect(r.exitCode).toBe(0);
    const report = JSON.parse(r.stdout) as Record<string, any>;
    expect(Object.keys(report).sort()).toEqual(["cache", "host", "leases", "locks", "node", "ok", "packageManagers", "python3"]);
    expect(report.host).toBe(hostname());
    expect(report.cache.clockOffsetMs).toBe(0);
    expect(report.packageManagers.found).toEqual([{ name: box.target.name, version: expect.any(String), path: box.options.packageManager }]);
    expect(report.packageManagers.chosen).toEqual(report.packageManagers.found[0]);
    expect(report.cache).toMatchObject({ dir: box.cacheDir, writable: true, freeBytes: expect.any(Number), totalBytes: expect.any(Number) });
    expect(report.python3).toMatchObject({ found: true, version: expect.stringMatching(/^3\./) });
    expect(report.node.version).toMatch(/^v\d+/);
    expect(report.ok).toBe(true);
  });

  it("HYPHA_CONDA_HOSTNAME names this worker's host; a bad one is a clear E_CONFIG error", async () => {
    const named = await box.cli(["doctor", "--json"], { HYPHA_CONDA_HOSTNAME: "gpu-box-7" });
    expect(JSON.parse(named.stdout)).toMatchObject({ host: "gpu-box-7" });
    expect((await box.cli(["doctor"], { HYPHA_CONDA_HOSTNAME: "gpu-box-7" })).stdout).toContain("Host: gpu-box-7 ");
    const bad = await box.cli(["doctor"], { HYPHA_CONDA_HOSTNAME: "gpu box 7" });
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toContain('E_CONFIG');
    expect(bad.stderr).toContain('HYPHA_CONDA_HOSTNAME "gpu box 7" is not a host name');
  });

  it("prints a readable report, and exits 1 when nothing can build envs here", async () => {
    const r = await box.cli(["doctor"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("Package managers:");
    expect(r.stdout).toContain(`${box.options.packageManager}  <- chosen`);
    expect(r.stdout).toContain(`dir        ${box.cacheDir}`);
    expect(r.stdout).toContain("OK: this machine can build and run envs.");

    const flags = box.flags.filter((f, i) => f !== "--package-manager" && box.flags[i - 1] !== "--package-manager");
    const bare = await execa(process.execPath, [CLI, "doctor", ...flags], { env: { ...box.env, PATH: "/nonexistent-bin" }, extendEnv: false, reject: false });
    expect(bare.exitCode).toBe(1);
    expect(bare.stdout).toContain("none found");
    expect(bare.stdout).toContain("NOT OK");
  });
});
