// Entry point shared by bin/conda, bin/mamba and bin/micromamba: the face comes from the executable name.
import fs from "node:fs";
import { helpText, parseArgs } from "./args.mjs";
import { detectFlavour, infoJson, versionText, isCondaCreateAlias, isTerseSolverJson } from "./faces.mjs";
import { PmFailure } from "./failure.mjs";
import { condaProgress, renderCondaFailure } from "./render-conda.mjs";
import { libmambaProgress, renderLibmambaFailure } from "./render-libmamba.mjs";

const LOGGED_PREFIXES = ["CONDA_", "MAMBA_", "PIP_", "HYPHA_"];

/** Runs one invocation; resolves to the process exit code. */
export async function main(executable, args, env = process.env) {
  const flavour = detectFlavour(executable, env);
  logInvocation(env.FAKE_PM_LOG, executable, flavour, args, env);
  if (env.FAKE_PM_HANG === "1") await hangForever();
  const knobs = readKnobs(env);
  let ctx = { face: flavour.face, createAlias: isCondaCreateAlias(flavour), terseSolverJson: isTerseSolverJson(flavour), command: "", json: args.includes("--json"), quiet: false, prefix: "" };
  try {
    const { command, opts } = parseArgs(args, flavour.style);
    ctx = { ...ctx, command, json: Boolean(opts.json), quiet: Boolean(opts.quiet) };
    if (command === "version") {
      process.stdout.write(versionText(flavour));
      return 0;
    }
    if (command === "help") {
      process.stdout.write(helpText(flavour.face, flavour.style));
      return 0;
    }
    if (command === "info") {
      const info = infoJson(flavour, env, opts);
      process.stdout.write(opts.json ? `${JSON.stringify(info, null, 2)}\n` : formatInfo(info));
      return 0;
    }
    if (flavour.style === "conda" && command === "env create" && opts.yes && condaBefore(flavour, [23, 7])) {
      // `conda env create --yes` only exists since conda 23.7.
      throw new PmFailure("usage", { conda: "unrecognized arguments: --yes", libmamba: "" });
    }
    if (knobs.exitZeroCorrupt && flavour.style === "conda") return reportCorruptTarballAndExitZero(opts, env);
    const progressFor = flavour.style === "conda" ? condaProgress : libmambaProgress;
    const progress = progressFor({ ...ctx, prefix: "" });
    // Loaded only for creates, so that --version and info stay as quick as Node's start-up allows.
    const { runCreate } = await import("./create.mjs");
    await runCreate({
      flavour,
      command,
      opts,
      env,
      knobs,
      progress,
      historyArgv: [executable, ...args],
    });
    return 0;
  } catch (err) {
    if (!(err instanceof PmFailure) && typeof err?.code === "string" && typeof err?.syscall === "string") {
      // An OS error (disk full, permission denied): the real tools name it in one line, not a stack trace.
      process.stderr.write(flavour.style === "conda" ? `\nOSError: ${err.message}\n` : `critical libmamba ${err.message}\n`);
      return 1;
    }
    if (!(err instanceof PmFailure)) {
      process.stderr.write(`${flavour.face}: internal error of the fake package manager: ${err?.stack ?? err}\n`);
      return 1;
    }
    const rendered = flavour.style === "conda" ? renderCondaFailure(err, ctx) : renderLibmambaFailure(err, ctx);
    process.stdout.write(rendered.stdout);
    process.stderr.write(rendered.stderr);
    return rendered.exitCode;
  }
}

/**
 * conda 26.7.1 under a cold-cache race (reference, "Newer releases"): stdout says a tarball is corrupt,
 * stderr carries a CondaSystemExit document, the exit code is 0, and the env was not created.
 */
async function reportCorruptTarballAndExitZero(opts, env) {
  const { pkgsDirs } = await import("./faces.mjs");
  const { default: path } = await import("node:path");
  const pkgs = pkgsDirs(detectFlavour("conda", env), env, opts)[0];
  if (opts.prefix) fs.mkdirSync(path.join(path.resolve(opts.prefix), "lib"), { recursive: true });
  process.stdout.write(`ERROR: Encountered corrupt package tarball at ${path.join(pkgs, "pip-26.2.1-py_0.tar.bz2")}. Conda has left it in place. Please report this to the maintainers of the package.\n`);
  const doc = { caused_by: "None", error: "CondaSystemExit: Exiting 1", exception_name: "CondaSystemExit", exception_type: "<class 'conda.exceptions.CondaSystemExit'>", message: "Exiting 1" };
  process.stderr.write(`${JSON.stringify(doc, null, 2)}\n`);
  return 0;
}

function condaBefore(flavour, [major, minor]) {
  const version = flavour.mamba1 ? "25.11.1" : flavour.version;
  const [a, b] = version.split(".").map(Number);
  return a < major || (a === major && b < minor);
}

function readKnobs(env) {
  const int = (v) => (v !== undefined && v !== "" && Number.isFinite(Number(v)) ? Number(v) : undefined);
  const corruptColdCache = env.FAKE_PM_CORRUPT_COLD_CACHE === "1";
  return {
    exitZeroCorrupt: env.FAKE_PM_EXIT0_CORRUPT === "1",
    delayMs: int(env.FAKE_PM_DELAY_MS) ?? 0,
    crashAfter: int(env.FAKE_PM_CRASH_AFTER),
    corruptColdCache,
    extractDelayMs: int(env.FAKE_PM_EXTRACT_DELAY_MS) ?? (corruptColdCache ? 1000 : 0),
  };
}

function logInvocation(file, executable, flavour, args, env) {
  if (!file) return;
  const picked = {};
  for (const [k, v] of Object.entries(env)) {
    if (LOGGED_PREFIXES.some((p) => k.startsWith(p)) || k === "HOME" || k === "PATH") picked[k] = v;
  }
  const line = { time: new Date().toISOString(), face: flavour.face, executable, argv: args, cwd: process.cwd(), pid: process.pid, env: picked };
  // One short write with O_APPEND, so concurrent invocations never interleave within a line.
  fs.appendFileSync(file, `${JSON.stringify(line)}\n`);
}

function hangForever() {
  setInterval(() => {}, 1 << 30);
  return new Promise(() => {});
}

function formatInfo(info) {
  return `${Object.entries(info).map(([k, v]) => `${String(k).padStart(24)} : ${Array.isArray(v) ? v.join("\n" + " ".repeat(27)) : v}`).join("\n")}\n`;
}
