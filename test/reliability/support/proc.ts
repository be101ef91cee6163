/**
 * /proc readers for the reliability suite: who descends from a pid, whether a pid still runs (a zombie
 * counts as gone), open file descriptors, resident memory, and a process's environment.
 */
import { readFileSync, readdirSync } from "node:fs";
import { isProcessAlive, listProcesses, type ProcStat } from "../../../src/session/proc-table.js";

/** Pids of every live (non-zombie) process below `root` in the process tree. */
export function liveDescendants(root: number): number[] {
  const stats = listProcesses();
  const children = new Map<number, ProcStat[]>();
  for (const s of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      if (child.state !== "Z" && child.state !== "X") out.push(child.pid);
      queue.push(child.pid);
    }
  }
  return out;
}

/** True while `pid` runs (a killed orphan may linger as a zombie when PID 1 does not reap). */
export const isRunning = isProcessAlive;

/** Pids of live processes whose command line contains `needle` (finds escapees that were reparented). */
export function pidsWithCmdline(needle: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, "utf8").replaceAll("\0", " ");
      if (cmdline.includes(needle) && isRunning(Number(name))) out.push(Number(name));
    } catch {
      // Gone while reading.
    }
  }
  return out;
}

/** Number of file descriptors open in this process. */
export function openFdCount(): number {
  return readdirSync("/proc/self/fd").length;
}

/** Resident set size of `pid` in bytes (VmRSS), or undefined once it is gone. */
export function rssBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The environment of `pid` as NAME -> value (undefined when it cannot be read). */
export function processEnviron(pid: number): Record<string, string> | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/environ`, "utf8");
    const out: Record<string, string> = {};
    for (const item of raw.split("\0")) {
      const eq = item.indexOf("=");
      if (eq > 0) out[item.slice(0, eq)] = item.slice(eq + 1);
    }
    return out;
  } catch {
    return undefined;
  }
}

/** Polls `check` every `intervalMs` until it returns true or `timeoutMs` passes; returns the last result. */
export async function pollUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
