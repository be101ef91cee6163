import { describe, expect, it } from "vitest";
import { execa } from "execa";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));

describe("cli entry", () => {
  it("prints help and exits 0", async () => {
    const r = await execa("node", [cli, "--help"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("Usage: hypha-conda-worker <command>");
  });

  it("prints the package version", async () => {
    const r = await execa("node", [cli, "--version"]);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("rejects an unknown command with a pointer to --help and exit 2", async () => {
    const r = await execa("node", [cli, "frobnicate"], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
    expect(r.stderr).toContain("--help");
  });

  it("rejects an unknown global flag", async () => {
    const r = await execa("node", [cli, "--frob"], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("unknown option '--frob'");
  });
});
