#!/usr/bin/env node
/**
 * `npm run bench`: builds the package (unless BENCH_NO_BUILD=1), runs every benchmark (or those named on the
 * command line) as its own Node process, one after the other, and renders docs/benchmarks.md from
 * bench/results/*.json. BENCH_QUICK=1: tiny iteration counts (smoke test); then results and the report go
 * to BENCH_RESULTS_DIR (default: a temp dir), never over the committed ones. `--report-only` re-renders the
 * report from the results already present.
 * Exit code: 0 when every benchmark ran (a missed target is reported, not a failure), 1 otherwise.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { QUICK, REPO, log, nowMs } from "./lib/common.mjs";
import { describeMachine } from "./lib/machine.mjs";
import { BENCHMARKS, writeReport } from "./lib/report.mjs";

const reportOnly = process.argv.includes("--report-only");
const requested = process.argv.slice(2).filter((a) => a !== "--report-only");
const unknown = requested.filter((n) => !BENCHMARKS.includes(n));
if (unknown.length) {
  process.stderr.write(`unknown benchmark(s): ${unknown.join(", ")}; choose from ${BENCHMARKS.join(", ")}\n`);
  process.exit(2);
}
const selected = requested.length ? requested : BENCHMARKS;

if (QUICK && !process.env.BENCH_RESULTS_DIR) process.env.BENCH_RESULTS_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "hcw-bench-quick-"));
const resultsDir = process.env.BENCH_RESULTS_DIR ? path.resolve(process.env.BENCH_RESULTS_DIR) : path.join(REPO, "bench", "results");
const reportPath = process.env.BENCH_REPORT ? path.resolve(process.env.BENCH_REPORT) : QUICK ? path.join(resultsDir, "benchmarks.md") : path.join(REPO, "docs", "benchmarks.md");
fs.mkdirSync(resultsDir, { recursive: true });

if (reportOnly) {
  // Re-renders the report from the results already there (e.g. after editing bench/analysis.md).
  const reported = writeReport(resultsDir, reportPath);
  log(`report: ${path.relative(REPO, reportPath) || reportPath} (${reported.join(", ")})`);
  process.exit(0);
}

const started = nowMs();
if (process.env.BENCH_NO_BUILD !== "1") {
  log("building (npm run build); set BENCH_NO_BUILD=1 to use the existing dist/");
  const build = await execa("npm", ["run", "build"], { cwd: REPO, reject: false, stdin: "ignore" });
  if (build.exitCode !== 0) {
    process.stderr.write(`npm run build failed; the benchmarks need a current dist/. Fix the build (or use BENCH_NO_BUILD=1):\n${build.stdout}\n${build.stderr}\n`);
    process.exit(1);
  }
}

const machine = await describeMachine();
const failed = [];
for (const name of selected) {
  log(`running ${name}`);
  const t = nowMs();
  const result = await execa(process.execPath, [path.join(REPO, "bench", `${name}.mjs`)], { cwd: REPO, reject: false, stdin: "ignore", stdout: "inherit", stderr: "inherit", env: { ...process.env, BENCH_RESULTS_DIR: resultsDir } });
  log(`${name} ${result.exitCode === 0 ? "done" : `FAILED (exit ${result.exitCode})`} in ${((nowMs() - t) / 1000).toFixed(1)} s`);
  if (result.exitCode !== 0) failed.push(name);
}
machine.loadAverageEnd = os.loadavg().map((x) => Math.round(x * 100) / 100);
machine.totalSeconds = Math.round((nowMs() - started) / 1000);
fs.writeFileSync(path.join(resultsDir, "machine.json"), `${JSON.stringify(machine, null, 2)}\n`);
const reported = writeReport(resultsDir, reportPath);
log(`report: ${path.relative(REPO, reportPath) || reportPath} (${reported.join(", ")}) after ${machine.totalSeconds} s`);
if (failed.length) {
  process.stderr.write(`benchmarks that failed: ${failed.join(", ")} (see their errors above)\n`);
  process.exit(1);
}
