// The `pip:` section, run like the real tools do: PREFIX/bin/python -m pip install -U -r <requirements>.
// conda writes the requirements file next to environment.yml; libmamba writes it to the temp dir.
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PmFailure } from "./failure.mjs";

/** Installs the pip requirements into the prefix; throws pip-failed (env left as is) when pip fails. */
export async function installPipSection(prefix, requirements, { style, envFileDir, quiet, json, onStart }) {
  const dir = style === "conda" ? envFileDir : os.tmpdir();
  const file = path.join(dir, `${style === "conda" ? "condaenv" : "mambaf"}.${crypto.randomBytes(4).toString("hex")}.requirements.txt`);
  try {
    fs.writeFileSync(file, `${requirements.join("\n")}\n`);
  } catch (err) {
    // conda needs the environment.yml's folder to be writable; it fails with Python's PermissionError.
    throw new PmFailure("unexpected", { exceptionName: "PermissionError", message: `[Errno 13] Permission denied: '${file}' (${err.code})` });
  }
  const args = [path.join(prefix, "bin", "python"), "-m", "pip", "install", "-U", "-r", file];
  onStart?.(args);
  try {
    const { code, output } = await runPip(args, { quiet, json });
    if (code !== 0) {
      if (quiet || json) process.stderr.write(output);
      throw new PmFailure("pip-failed", { exitCode: code });
    }
  } finally {
    fs.rmSync(file, { force: true });
  }
}

function runPip([command, ...args], { quiet, json }) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env: pipEnv() });
    let output = "";
    const forward = (chunk) => {
      output += chunk;
      // pip's own lines go to stderr so that a --json stdout stays one document.
      if (!quiet && !json) process.stderr.write(chunk);
    };
    child.stdout.on("data", forward);
    child.stderr.on("data", forward);
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}

function pipEnv() {
  const env = { ...process.env };
  // The env's python must not pick up the caller's virtualenv or PYTHONPATH.
  delete env.PYTHONPATH;
  delete env.PYTHONHOME;
  delete env.VIRTUAL_ENV;
  env.PIP_DISABLE_PIP_VERSION_CHECK = env.PIP_DISABLE_PIP_VERSION_CHECK ?? "1";
  return env;
}
