/**
 * Smoke test of `npm run bench`: every benchmark script runs against the built code (dist/, built by
 * `npm test`) with tiny iteration counts (BENCH_QUICK=1) and writes valid results and a report into a temp
 * dir. No timing is asserted; the counts the benchmarks exist to prove (0 tool processes on a hit, 1 create
 * for concurrent starts) are.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const REPO = path.resolve(import.meta.dirname, "..", "..");
const BENCHMARKS = ["run-cli", "warm-start", "hypha-start", "lock-create", "cache-hit", "cold-create", "concurrent-starts", "bridge", "bridge-direct", "memory", "scale"];
let dir: string;
let run: { exitCode?: number; stdout: string; stderr: string };

function result(name: string): Record<string, any> {
  return JSON.parse(readFileSync(path.join(dir, `${name}.json`), "utf8")) as Record<string, any>;
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "hcw-bench-test-"));
  const outcome = await execa(process.execPath, [path.join(REPO, "bench", "run-all.mjs")], {
    cwd: REPO,
    reject: false,
    stdin: "ignore",
    timeout: 240_000,
    env: { ...process.env, BENCH_QUICK: "1", BENCH_NO_BUILD: "1", BENCH_RESULTS_DIR: dir },
  });
  run = { exitCode: outcome.exitCode, stdout: String(outcome.stdout), stderr: String(outcome.stderr) };
}, 260_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("npm run bench (BENCH_QUICK=1)", () => {
  it("runs every benchmark and exits 0", () => {
    expect(run.stderr).not.toMatch(/failed/i);
    expect(run.exitCode).toBe(0);
    expect(readdirSync(dir).sort()).toEqual([...BENCHMARKS.map((n) => `${n}.json`), "benchmarks.md", "machine.json"].sort());
  });

  it.each(BENCHMARKS)("%s writes a result with figures, a summary and its target", (name) => {
    const r = result(name);
    expect(r.benchmark).toBe(name);
    expect(r.quick).toBe(true);
    expect(typeof r.target).toBe("string");
    expect(Object.keys(r.figures ?? {}).length).toBeGreaterThan(0);
    expect(Array.isArray(r.summary) && r.summary.length).toBeTruthy();
    for (const line of r.summary) expect(run.stdout).toContain(`${name}: ${line}`);
  });

  it("statistics are well-formed (median between min and max, p90 at least the median)", () => {
    const all = BENCHMARKS.flatMap((n) => Object.values((result(n).stats ?? {}) as Record<string, { n: number; min: number; median: number; p90: number; max: number }>));
    expect(all.length).toBeGreaterThan(10);
    for (const s of all) {
      expect(s.n).toBeGreaterThan(0);
      expect(s.min).toBeLessThanOrEqual(s.median);
      expect(s.median).toBeLessThanOrEqual(s.p90);
      expect(s.p90).toBeLessThanOrEqual(s.max);
    }
  });

  it("proves the counts: no tool process on a hit, one create for concurrent starts", () => {
    expect(result("cache-hit").figures.packageManagerProcessesOnHits).toBe(0);
    expect(result("cache-hit").figures.packageManagerProcessesForTheCreate).toBeGreaterThan(0);
    expect(result("concurrent-starts").figures.createsPerConcurrentRound).toEqual([1]);
    expect(result("concurrent-starts").figures.ensureEnvOnlyCreatesPerConcurrentRound).toEqual([1]);
    expect(result("cold-create").variants.fakeAsIs.argv).toContain("create");
    expect(result("scale").figures.evicted).toBe(5);
  });

  it("renders the report with the machine, every benchmark and the fake labelled as the fake", () => {
    const report = readFileSync(path.join(dir, "benchmarks.md"), "utf8");
    const machine = JSON.parse(readFileSync(path.join(dir, "machine.json"), "utf8")) as Record<string, unknown>;
    expect(machine.cores).toBe(os.cpus().length);
    expect(report).toContain(`${os.cpus().length} cores`);
    expect(report).toContain(process.version);
    // With the real-thing variables set, the report must name that tool instead of the fake.
    const realTool = process.env.HYPHA_CONDA_TEST_PACKAGE_MANAGER;
    expect(report).toMatch(realTool ? new RegExp(`real .* at ${realTool.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`) : /fake micromamba .*NOT the real tool/);
    for (const name of BENCHMARKS) expect(report).toMatch(new RegExp(`^\\| ${name} \\|`, "m"));
  });
});
