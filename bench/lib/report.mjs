/**
 * Renders docs/benchmarks.md from bench/results/*.json: the machine, a summary table (figure, target,
 * met / not met), then each benchmark's statistics, summary lines and notes, then the hand-written analysis
 * in bench/analysis.md (why a target is missed and what would fix it).
 */
import fs from "node:fs";
import path from "node:path";
import { REPO } from "./common.mjs";

export const BENCHMARKS = ["run-cli", "warm-start", "hypha-start", "lock-create", "cache-hit", "cold-create", "concurrent-starts", "bridge", "bridge-direct", "memory", "scale"];

const TITLES = {
  "lock-create": "Create from the lock against create from the spec",
  "hypha-start": "Warm start through Hypha, by phase (the worker's part)",
  "run-cli": "The CLI: a warm `run` against python, `--help`",
  "warm-start": "Warm start (env cached) until the entry point's first statement",
  "cache-hit": "Cache hit: package-manager processes and latency",
  "cold-create": "Cold create against the same tool command by hand",
  "concurrent-starts": "10 concurrent starts of one spec on a fresh cache",
  bridge: "Bridge: calls into a Python app against a JS service",
  "bridge-direct": "Bridge against a direct Python Hypha client (same app, same server)",
  memory: "Worker memory: idle, 50 idle sessions, log flood",
  scale: "Scale: a cache of 1,000 envs",
};

const status = (met) => (met === true ? "**met**" : met === false ? "**NOT met**" : "reported");
const fmt = (x) => (typeof x === "number" ? (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(2)) : String(x));

function statsTable(stats) {
  const rows = Object.entries(stats ?? {}).map(([name, s]) => `| ${name} | ${s.n} | ${fmt(s.median)} | ${fmt(s.p90)} | ${fmt(s.mean)} | ${fmt(s.min)} | ${fmt(s.max)} |`);
  return rows.length ? ["| variant | n | median | p90 | mean | min | max |", "|---|---:|---:|---:|---:|---:|---:|", ...rows].join("\n") : "";
}

/** One summary row per headline figure: [benchmark, figure, target, status]. */
function summaryRows(name, r) {
  const f = r.figures ?? {};
  switch (name) {
    case "hypha-start":
      return [[name, `warm start via Hypha: median ${fmt(f.startMedianMs)} ms (slowest phase: ${Object.entries(f.phaseMediansMs ?? {}).sort((a, b) => b[1] - a[1])[0]?.join(" ") ?? "?"} ms)`, "≤ 250 ms", status(f.targetMet)]];
    case "lock-create":
      return [[name, `create from the lock ${fmt(f.fromLockMedianMs)} ms vs from the spec ${fmt(f.fromSpecMedianMs)} ms: ×${f.ratioLockOverSpec} (making the lock: ${fmt(f.lockMs)} ms, once at install)`, "—", "reported"]];
    case "run-cli":
      return [
        [name, `warm \`run hello\` median ${fmt(f.runMedianMs)} ms vs python main.py ${fmt(f.pythonMedianMs)} ms (+${fmt(f.runOverheadMs)} ms)`, "≤ python + 200 ms", status(f.runTargetMet)],
        [name, `\`--help\` median ${fmt(f.helpMedianMs)} ms (node -e 0: ${fmt(f.nodeMedianMs)} ms)`, "≤ 150 ms", status(f.helpTargetMet)],
      ];
    case "warm-start":
      return ["Session.start", "CondaWorker.start"].filter((k) => f[k]).map((k) => [name, `${k}: median ${fmt(f[k].medianMs)} ms, ×${f[k].ratioToPythonPass} of \`python -c pass\` (+${fmt(f[k].overheadMs)} ms)`, "≤ 1.3× or < 30 ms over", status(f[k].targetMet)]);
    case "cache-hit":
      return [
        [name, `${f.packageManagerProcessesOnHits} package-manager processes over ${f.hits} hits`, "0", status(f.packageManagerProcessesOnHits === 0)],
        [name, `hit median ${fmt(f.hitMedianMs)} ms, ×${f.ratioHitToPythonPass} of \`python -c pass\``, "—", "reported"],
      ];
    case "cold-create":
      return [
        [name, `fake with FAKE_PM_DELAY_MS=${f.fakeWithDelay?.delayMsPerPackage}: ×${f.fakeWithDelay?.ratio} (+${fmt(f.fakeWithDelay?.overheadMs)} ms)`, "≤ 1.05×", status(f.fakeWithDelay?.targetMet)],
        [name, `fake as is (sub-second create): ×${f.fakeAsIs?.ratio} (+${fmt(f.fakeAsIs?.overheadMs)} ms)`, "≤ 1.05×", status(f.fakeAsIs?.targetMet)],
      ];
    case "concurrent-starts":
      return [
        [name, `creates per round of ${r.concurrency} starts: ${(f.createsPerConcurrentRound ?? []).join(", ")} (upstream, from its source: up to ${f.upstreamCreatesDocumented})`, "1", status(r.targetMet)],
        [name, `wall time ${r.concurrency} starts / 1 start: ×${f.wallTimeRatioConcurrentToOne}; env layer alone ×${f.ensureEnvOnlyRatioConcurrentToOne}`, "—", "reported"],
      ];
    case "bridge":
      return [
        [name, `round trip ×${f.roundTripRatio} of a JS service (${fmt(f.roundTripMedianMs?.bridge)} vs ${fmt(f.roundTripMedianMs?.js)} ms)`, "—", "reported"],
        [name, `1 KB echo ×${f.payload1KBRatio}, 1 MB echo ×${f.payload1MBRatio}`, "—", "reported"],
        [name, `throughput vs JS at 1/16/64 callers: ${Object.values(f.throughputRatio ?? {}).map((x) => `×${x}`).join(" / ")}`, "—", "reported"],
      ];
    case "bridge-direct": {
      const label = { sequential: "sequential call", concurrent200: "200 concurrent calls", echo1MB: "1 MB echo" };
      return Object.keys(label).filter((k) => f.ratios?.[k] !== undefined).map((k) => [name, `${label[k]}: ×${f.ratios[k]} of direct (${fmt(f.medianMs[k].bridge)} vs ${fmt(f.medianMs[k].direct)} ms; direct: ${f.directClient === "real" ? "real hypha_rpc" : "bench client"}${f.pipeFloorRatios?.[k] !== undefined ? `; floor of a process hop ×${f.pipeFloorRatios[k]}` : ""})`, `≤ ${f.targets[k]}×`, status(f.met[k])]);
    }
    case "memory":
      return [
        [name, `idle RSS ${f.idleRssMB} MB; +${f.perSessionRssKB} KB per idle session`, "—", "reported"],
        [name, `flood of ${f.floodOutputMB} MB output: live heap after it +${f.afterFloodHeapOverIdleMB} MB over idle, ${f.floodKeptStdoutLines} lines kept; peak RSS +${f.floodPeakOverIdleMB} MB (+${f.smallFloodPeakOverIdleMB} MB for a 4× smaller flood)`, "heap < idle + 16 MB", status(r.targetMet)],
      ];
    case "scale":
      return [
        [name, `hit ${fmt(f.hitMedianMs)} ms (×${f.hitRatioBigToOne} of a 1-env cache); listEnvs ${fmt(f.listEnvsMedianMs)} ms; gc scan ${fmt(f.gcScanMedianMs)} ms`, "—", "reported"],
        [name, `CLI cache list ${fmt(f.cliListMedianMs)} ms, cache gc ${fmt(f.cliGcMedianMs)} ms (Node start-up ${fmt(f.cliVersionMedianMs)} ms); evicting ${f.evicted}: ${f.gcEvict10PctMs} ms`, "—", "reported"],
      ];
    default:
      return [];
  }
}

function section(name, r) {
  const lines = [`## ${TITLES[name] ?? name}`, "", `Target: ${r.target}. Run took ${r.durationS} s${r.quick ? " (QUICK run)" : ""}.`, ""];
  const by = r.producedBy ?? {};
  if (by.packageManager?.length || by.server?.length) lines.push(`Produced by: ${[...(by.packageManager ?? []), ...(by.server ?? []), ...(by.client ?? [])].join("; ")}.`, "");
  if (r.stats) lines.push(statsTable(r.stats), "");
  if (r.roundTrip) lines.push("Small round trip (ms):", "", statsTable(r.roundTrip.stats), "");
  for (const [label, p] of Object.entries(r.payloads ?? {})) lines.push(`Echo of ${label} (ms):`, "", statsTable(p.stats), "");
  if (r.variants) for (const [label, v] of Object.entries(r.variants)) lines.push(`${label} (${v.rounds} rounds; argv: \`${v.argv.join(" ")}\`):`, "", statsTable(v.stats), "");
  if (r.throughput) {
    lines.push("| callers | calls per caller | bridge calls/s | JS calls/s | ratio |", "|---:|---:|---:|---:|---:|");
    for (const [c, t] of Object.entries(r.throughput)) lines.push(`| ${c} | ${t.callsPerCaller} | ${t.callsPerS["bridge (Python app)"]} | ${t.callsPerS["JS service"]} | ×${t.ratio} |`);
    lines.push("");
  }
  if (name === "memory") {
    lines.push("| figure | value |", "|---|---:|", ...Object.entries(r.figures).map(([k, v]) => `| ${k} | ${v} |`), "");
  }
  lines.push(...(r.summary ?? []).map((s) => `- ${s}`), "");
  if (r.notes?.length) lines.push(...r.notes.map((n) => `> ${n}`), "");
  return lines.join("\n");
}

/** Writes the report to `target` from the results in `dir`; returns the list of benchmarks found. */
export function writeReport(dir, target, runInfo = {}) {
  const read = (file) => JSON.parse(fs.readFileSync(path.join(dir, file), "utf8"));
  const machine = fs.existsSync(path.join(dir, "machine.json")) ? read("machine.json") : {};
  const results = Object.fromEntries(BENCHMARKS.filter((n) => fs.existsSync(path.join(dir, `${n}.json`))).map((n) => [n, read(`${n}.json`)]));
  const out = [
    "# Benchmarks",
    "",
    "Generated by `npm run bench` (bench/run-all.mjs) from `bench/results/*.json`; do not edit by hand.",
    "How to run and what each benchmark measures: docs/benchmarking.md.",
    "",
    "**Read the figures with the set-up in mind:** each benchmark says what produced it: the project's fake",
    "micromamba (test/support/fake-pm) or the real tool, the Hypha test server or a real one (the real-thing",
    "variables of the tests: HYPHA_CONDA_TEST_PACKAGE_MANAGER, _CHANNEL, _SERVER_URL, _TOKEN).",
    "Every comparison is made side by side in one run (interleaved A/B iterations), so ratios are more",
    "trustworthy than absolute times on this shared, noisy machine.",
    "",
    "| machine | |",
    "|---|---|",
    `| date | ${machine.date ?? "?"} |`,
    `| CPU | ${machine.cpuModel ?? "?"}, ${machine.cores ?? "?"} cores |`,
    `| memory | ${machine.memoryGB ?? "?"} GB |`,
    `| OS | ${machine.os ?? "?"} |`,
    `| load average at start / end (1, 5, 15 min) | ${(machine.loadAverage ?? []).join(", ")} / ${(runInfo.loadAverageEnd ?? machine.loadAverageEnd ?? []).join(", ")} |`,
    `| Node | ${machine.node ?? "?"} |`,
    `| python | ${machine.python ?? "?"} |`,
    `| package manager | ${machine.packageManager ?? "?"} |`,
    `| Hypha | ${machine.hyphaServer ?? "?"}; hypha-rpc ${machine.hyphaRpc ?? "?"} |`,
    `| hypha-conda-worker | ${machine.worker ?? "?"} at commit ${machine.commit ?? "?"} |`,
    "",
    "## Summary",
    "",
    "| benchmark | figure | target | status |",
    "|---|---|---|---|",
    ...Object.entries(results).flatMap(([n, r]) => summaryRows(n, r).map((row) => `| ${row.join(" | ")} |`)),
    "",
    ...Object.entries(results).map(([n, r]) => section(n, r)),
  ];
  const analysis = path.join(REPO, "bench", "analysis.md");
  if (fs.existsSync(analysis)) out.push(fs.readFileSync(analysis, "utf8").trim(), "");
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, `${out.join("\n")}\n`);
  return Object.keys(results);
}
