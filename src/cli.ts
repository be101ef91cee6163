#!/usr/bin/env node
/** hypha-conda-worker executable: runs the CLI and turns errors into a message and an exit code. */
import { main } from "./cli/main.js";
import { UsageError, WorkerError, describeError } from "./errors.js";
import { redact } from "./redact.js";

try {
  process.exitCode = await main(process.argv.slice(2), {
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    isTTY: Boolean(process.stderr.isTTY),
  });
} catch (error) {
  const code = error instanceof WorkerError ? ` [${error.code}]` : "";
  process.stderr.write(`error${code}: ${redact(describeError(error))}\n`);
  process.exitCode = error instanceof UsageError ? 2 : 1;
}
