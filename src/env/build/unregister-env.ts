/**
 * The operator's `~/.conda/environments.txt` never lists the worker's cached envs. conda honours
 * `register_envs` off, but libmamba 2.8 appends every env it creates whatever the setting (measured on
 * micromamba and mamba 2.8.1: neither MAMBA_REGISTER_ENVS nor CONDA_REGISTER_ENVS reaches it), so after each
 * create the worker takes its own prefix's line out again and keeps every other line as it was.
 */
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";

/** How often a removal is redone when a concurrent writer put the line back (two workers removing at once). */
const MAX_ATTEMPTS = 5;

/** The environments.txt the tool writes: under the HOME it was given, else the account's home. */
export function environmentsFileFor(toolEnv: Readonly<Record<string, string | undefined>>): string {
  return path.join(toolEnv.HOME || os.homedir(), ".conda", "environments.txt");
}

/** One removal at a time per file in this process; across processes the re-read below catches a lost update. */
const queues = new Map<string, Promise<void>>();

/** Removes `prefix` from the environments file; a missing file or one without the prefix is left untouched. */
export async function unregisterEnv(file: string, prefix: string): Promise<void> {
  const previous = queues.get(file) ?? Promise.resolve();
  const mine = previous.then(() => removeLine(file, prefix));
  const settled = mine.catch(() => undefined);
  queues.set(file, settled);
  void settled.then(() => {
    if (queues.get(file) === settled) queues.delete(file);
  });
  return mine;
}

async function removeLine(file: string, prefix: string): Promise<void> {
  const target = await fs.realpath(file).catch(() => undefined);
  if (target === undefined) return;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
    const text = await fs.readFile(target, "utf8");
    const lines = text.split("\n");
    const kept = lines.filter((line) => !namesPrefix(line, prefix));
    if (kept.length === lines.length) return;
    // Replaced by rename, so a reader (or a crash) never sees half a file; the mode stays the operator's.
    const { mode } = await fs.stat(target);
    const temporary = `${target}.hypha-conda-worker-${randomUUID()}`;
    await fs.writeFile(temporary, kept.join("\n"), { mode: mode & 0o7777 });
    await fs.rename(temporary, target);
  }
}

function namesPrefix(line: string, prefix: string): boolean {
  const entry = line.trim().replace(/\/+$/, "");
  return entry === prefix.replace(/\/+$/, "");
}
