/**
 * Shared helpers of the benchmarks: where things are, iteration counts (BENCH_QUICK=1 for smoke runs),
 * statistics, temp dirs, and writing bench/results/<name>.json. Benchmarks run the BUILT code in dist/.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath, pathToFileURL } from "node:url";
import { producedBy } from "./target.mjs";

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const DIST = path.join(REPO, "dist");
export const APPS_DIR = path.join(REPO, "fixtures", "apps");
export const FAKE_PM_BIN = path.join(REPO, "test", "support", "fake-pm", "bin");
export const FAKE_MICROMAMBA = path.join(FAKE_PM_BIN, "micromamba");
export const CHANNEL_URL = pathToFileURL(path.join(REPO, "fixtures", "channel")).href.replace(/\/+$/, "");
export const WHEELS_DIR = path.join(REPO, "fixtures", "wheels");

/** True for smoke runs (tests): tiny iteration counts, same code paths. */
export const QUICK = process.env.BENCH_QUICK === "1";

/** Picks the iteration count: `full` normally, `quick` under BENCH_QUICK=1. */
export function iterations(full, quick = 1) {
  return QUICK ? quick : full;
}

/** Where results go (BENCH_RESULTS_DIR overrides, so tests never touch the committed results). */
export function resultsDir() {
  return process.env.BENCH_RESULTS_DIR ? path.resolve(process.env.BENCH_RESULTS_DIR) : path.join(REPO, "bench", "results");
}

/** Imports a module of the built package, e.g. loadDist("index.js"); fails with the fix when dist is missing. */
export async function loadDist(relPath = "index.js") {
  const file = path.join(DIST, relPath);
  if (!fs.existsSync(file)) {
    throw new Error(`${file} does not exist: the benchmarks run the built code; run 'npm run build' first`);
  }
  return import(pathToFileURL(file).href);
}

/** A high-resolution wall clock in ms on the same epoch as Python's time.time_ns() / 1e6. */
export function wallMs() {
  return performance.timeOrigin + performance.now();
}

/** Monotonic ms for durations. */
export function nowMs() {
  return performance.now();
}

/** Median, p90, mean, min, max of a list of numbers (ms unless said otherwise), rounded to 0.01. */
export function summarize(samples) {
  if (samples.length === 0) throw new Error("summarize: no samples (the benchmark loop did not run)");
  const sorted = [...samples].sort((a, b) => a - b);
  const pick = (q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
  const round = (x) => Math.round(x * 100) / 100;
  return {
    n: sorted.length,
    median: round(pick(0.5)),
    p90: round(pick(0.9)),
    mean: round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
    min: round(sorted[0]),
    max: round(sorted[sorted.length - 1]),
  };
}

/** a / b rounded to 0.001 (null when b is 0). */
export function ratio(a, b) {
  return b === 0 ? null : Math.round((a / b) * 1000) / 1000;
}

/** Runs `count` rounds; each round runs every named variant once, in alternating order (A B, B A, ...). */
export async function interleave(count, variants) {
  const names = Object.keys(variants);
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < count; i += 1) {
    const order = i % 2 === 0 ? names : [...names].reverse();
    for (const name of order) samples[name].push(await variants[name](i));
  }
  return samples;
}

const tempDirs = new Set();

/** A fresh temp dir under os.tmpdir(), removed by cleanupTemp(). */
export function makeTemp(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hcw-bench-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

export function cleanupTemp() {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/** Writes bench/results/<name>.json (atomically) and returns its path. */
export function writeResult(name, data) {
  const dir = resultsDir();
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  const body = { benchmark: name, quick: QUICK, finishedAt: new Date().toISOString(), ...data };
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(body, null, 2)}\n`);
  fs.renameSync(`${file}.tmp`, file);
  return file;
}

/** Human progress on stderr (stdout stays free for the summary lines). */
export function log(message) {
  process.stderr.write(`[bench] ${message}\n`);
}

/** "12.3 ms" style formatting. */
export function ms(value) {
  return value === null || value === undefined ? "n/a" : `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ms`;
}

/**
 * Runs a benchmark's `run()` when the file is executed directly: writes its result, prints its summary lines,
 * cleans up temp dirs, and exits non-zero with the error on failure.
 */
export async function runIfMain(metaUrl, name, run) {
  if (!process.argv[1] || pathToFileURL(path.resolve(process.argv[1])).href !== metaUrl) return;
  const started = nowMs();
  try {
    const result = await run();
    const file = writeResult(name, { durationS: Math.round((nowMs() - started) / 100) / 10, producedBy: producedBy(), ...result });
    for (const line of result.summary ?? []) process.stdout.write(`${name}: ${line}\n`);
    log(`${name}: wrote ${path.relative(REPO, file)} in ${((nowMs() - started) / 1000).toFixed(1)} s`);
    cleanupTemp();
    process.exit(0);
  } catch (error) {
    cleanupTemp();
    process.stderr.write(`[bench] ${name} failed: ${error?.stack ?? error}\n`);
    process.exit(1);
  }
}
