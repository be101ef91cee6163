#!/usr/bin/env node
// Copies non-TypeScript assets (the stdlib-only Python bridge) next to the compiled output.
import { cpSync, existsSync, chmodSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const from = join(root, "src", "bridge", "python");
const to = join(root, "dist", "bridge", "python");
if (existsSync(from)) cpSync(from, to, { recursive: true, filter: (p) => !p.includes("__pycache__") });
const cli = join(root, "dist", "cli.js");
if (existsSync(cli)) chmodSync(cli, 0o755);
