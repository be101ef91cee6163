/**
 * The Hypha test server is TypeScript test code (test/support/hypha-server*.ts) and Node 20 cannot import
 * .ts. The benchmarks compile it (and what it imports) with the project's own tsc into bench/.build/
 * (git-ignored), using bench/tsconfig.support.json, and only when a source is newer than the last build.
 */
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { execa } from "execa";
import { REPO, log } from "./common.mjs";

const BUILD_DIR = path.join(REPO, "bench", ".build");
const STAMP = path.join(BUILD_DIR, ".stamp");
const SOURCES = [path.join(REPO, "test", "support", "hypha-server.ts"), path.join(REPO, "test", "support", "hypha-server"), path.join(REPO, "src", "hypha")];

function newestMtime(target) {
  const stat = fs.statSync(target);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...fs.readdirSync(target).map((name) => newestMtime(path.join(target, name))));
}

/** Compiles the test server into bench/.build when needed; returns the module (startHyphaTestServer...). */
export async function loadHyphaTestServer() {
  const built = fs.existsSync(STAMP) ? fs.statSync(STAMP).mtimeMs : 0;
  if (built < Math.max(...SOURCES.map(newestMtime))) {
    log("compiling the Hypha test server (test/support) into bench/.build with tsc");
    const tsc = path.join(REPO, "node_modules", "typescript", "bin", "tsc");
    const result = await execa(process.execPath, [tsc, "-p", path.join(REPO, "bench", "tsconfig.support.json")], { cwd: REPO, reject: false });
    if (result.exitCode !== 0) {
      throw new Error(`compiling the Hypha test server failed; fix the TypeScript errors below (or wait for the file being edited) and rerun:\n${result.stdout}${result.stderr}`);
    }
    fs.writeFileSync(STAMP, new Date().toISOString());
  }
  return import(pathToFileURL(path.join(BUILD_DIR, "test", "support", "hypha-server.js")).href);
}
