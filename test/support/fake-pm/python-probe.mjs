// Finds the machine's python3 that the fixture `python` package wraps (venv-style) and the pip it exposes.
// The answer is cached in the temp dir, keyed by the interpreter path, because pyenv shims cost ~90 ms.
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const PROBE_CODE = [
  "import json, os, sys",
  "try:",
  "    import pip",
  "    pip_dir, pip_version = os.path.dirname(pip.__file__), pip.__version__",
  "except ImportError:",
  "    pip_dir, pip_version = None, None",
  "exe = os.path.realpath(getattr(sys, '_base_executable', None) or sys.executable)",
  "print(json.dumps({'executable': exe, 'version': '%d.%d.%d' % sys.version_info[:3],",
  "                  'short': '%d.%d' % sys.version_info[:2], 'pipDir': pip_dir, 'pipVersion': pip_version}))",
].join("\n");

/** {executable, version, short ("3.11"), pipDir, pipVersion} of the base interpreter. */
export function probeBasePython() {
  const command = process.env.FAKE_PM_BASE_PYTHON || findOnPath("python3");
  if (!command) {
    throw new Error("fake package manager: no python3 on PATH; set FAKE_PM_BASE_PYTHON to an interpreter");
  }
  const key = crypto.createHash("sha256").update(command).digest("hex").slice(0, 16);
  const cacheFile = path.join(os.tmpdir(), `fake-pm-python-probe-${process.getuid?.() ?? 0}-${key}.json`);
  try {
    const cached = JSON.parse(fs.readFileSync(cacheFile, "utf8"));
    if (cached.command === command && fs.existsSync(cached.executable)) return cached;
  } catch {
    // No usable cached probe: ask the interpreter.
  }
  const out = execFileSync(command, ["-c", PROBE_CODE], { encoding: "utf8", env: cleanProbeEnv() });
  const probe = { command, ...JSON.parse(out) };
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(probe));
  fs.renameSync(tmp, cacheFile);
  return probe;
}

function cleanProbeEnv() {
  const env = { ...process.env };
  delete env.PYTHONPATH;
  delete env.PYTHONHOME;
  return env;
}

function findOnPath(name) {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}
