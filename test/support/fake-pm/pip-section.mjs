// The `pip:` section, run like the real tools do. Both write the requirements file next to environment.yml
// (conda: condaenv.<x>.requirements.txt; libmamba: TemporaryFile("mambaf", "", yml folder) in api/utils.cpp),
// so that folder must be writable. conda runs `python -m pip install -U -r FILE` and captures pip's output,
// printing it only when pip fails (args and pip's stdout on stdout, even with --json; pip's stderr on
// stderr); libmamba runs `python -m pip install -r FILE --no-input` (2.x adds --quiet) with pip's streams
// passed straight through.
import { spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { PmFailure } from "./failure.mjs";

/** Installs the pip requirements into the prefix; throws pip-failed (env left as is) when pip fails. */
export async function installPipSection(prefix, requirements, { style, major, envFileDir, quiet, json, onStart }) {
  const conda = style === "conda";
  const file = path.join(envFileDir, conda ? `condaenv.${crypto.randomBytes(4).toString("hex")}.requirements.txt` : `mambaf${crypto.randomBytes(3).toString("hex")}`);
  try {
    fs.writeFileSync(file, `${requirements.join("\n")}\n`);
  } catch (err) {
    // conda fails with Python's PermissionError; libmamba's TemporaryFile throws its own message.
    if (conda) throw new PmFailure("unexpected", { exceptionName: "PermissionError", message: `[Errno 13] Permission denied: '${file}' (${err.code})` });
    throw new PmFailure("unexpected", { message: "Could not create temporary file!" });
  }
  const python = path.join(prefix, "bin", "python");
  const args = conda ? [python, "-m", "pip", "install", "-U", "-r", file] : [python, "-m", "pip", "install", "-r", file, "--no-input", ...(major >= 2 ? ["--quiet"] : [])];
  onStart?.(args);
  try {
    const { code, stdout, stderr } = await runPip(args, { passThrough: !conda, quiet, json });
    if (code !== 0) {
      if (conda) {
        process.stdout.write(`Ran pip subprocess with arguments:\n${JSON.stringify(args)}\nPip subprocess output:\n${stdout}\n`);
        process.stderr.write(`Pip subprocess error:\n${stderr}\n`);
      }
      throw new PmFailure("pip-failed", { exitCode: code });
    }
  } finally {
    fs.rmSync(file, { force: true });
  }
}

function runPip([command, ...args], { passThrough, quiet, json }) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env: pipEnv() });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      if (passThrough) process.stdout.write(chunk);
      // The fake conda's text mode shows pip's progress on stderr (real conda shows a spinner).
      else if (!quiet && !json) process.stderr.write(chunk);
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
      if (passThrough || (!quiet && !json)) process.stderr.write(chunk);
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
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
