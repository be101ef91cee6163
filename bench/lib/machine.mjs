/** What the benchmarks ran on: machine, Node, python, tool versions (the fake's, labelled as such), commit. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { FAKE_MICROMAMBA, REPO } from "./common.mjs";
import { TARGET } from "./target.mjs";

async function output(file, args) {
  const result = await execa(file, args, { reject: false, stdin: "ignore", timeout: 30_000 });
  return result.exitCode === 0 ? `${result.stdout}${result.stderr}`.trim() : `unavailable (${result.shortMessage ?? result.exitCode})`;
}

function packageVersion(name) {
  try {
    return JSON.parse(fs.readFileSync(path.join(REPO, "node_modules", name, "package.json"), "utf8")).version;
  } catch {
    return "unknown";
  }
}

/** Collects the machine description written to bench/results/machine.json and the report header. */
export async function describeMachine() {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    cores: cpus.length,
    cpuModel: cpus[0]?.model ?? "unknown",
    memoryGB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
    node: process.version,
    python: await output("python3", ["--version"]),
    packageManager: TARGET.packageManager.kind === "real"
      ? `real ${path.basename(TARGET.packageManager.path)} ${await output(TARGET.packageManager.path, ["--version"])} at ${TARGET.packageManager.path}, channel ${TARGET.packageManager.channelUrl} (figures that need the fake's log or knobs still use the fake: see each benchmark)`
      : `fake micromamba ${await output(FAKE_MICROMAMBA, ["--version"])} (test/support/fake-pm, NOT the real tool)`,
    hyphaServer: TARGET.server.kind === "real" ? `real Hypha at ${TARGET.server.url}` : "Hypha test server (test/support/hypha-server, NOT the real server)",
    hyphaRpc: packageVersion("hypha-rpc"),
    worker: JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8")).version,
    commit: await output("git", ["-C", REPO, "rev-parse", "--short", "HEAD"]),
  };
}
