/**
 * The process table as /proc shows it (Linux): a process's state, parent and group, a group's living
 * members, a process's living descendants. Elsewhere a signal-0 probe stands in where it can.
 */
import { readdirSync, readFileSync } from "node:fs";

export interface ProcStat {
  pid: number;
  ppid: number;
  pgrp: number;
  state: string;
}

/** One process as /proc/<pid>/stat describes it; undefined once it is gone (or off Linux). */
export function readProcStat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name may hold spaces and parentheses: parse after the last ")".
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { pid, state: fields[0]!, ppid: Number(fields[1]), pgrp: Number(fields[2]) };
  } catch {
    return undefined;
  }
}

/** Every process /proc lists (empty off Linux). */
export function listProcesses(): ProcStat[] {
  let names: string[];
  try {
    names = readdirSync("/proc");
  } catch {
    return [];
  }
  const out: ProcStat[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProcStat(Number(name));
    if (stat) out.push(stat);
  }
  return out;
}

export function processGroupOf(pid: number): number | undefined {
  return readProcStat(pid)?.pgrp;
}

/** True while `pid` exists and is not a zombie (a zombie has already released everything). */
export function isProcessAlive(pid: number): boolean {
  const stat = readProcStat(pid);
  if (stat) return stat.state !== "Z" && stat.state !== "X";
  if (process.platform === "linux") return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Living members of a process group (Linux: /proc; elsewhere: a signal-0 probe of the group). */
export function groupMembers(pgid: number): number[] {
  if (process.platform !== "linux") {
    try {
      process.kill(-pgid, 0);
      return [pgid];
    } catch {
      return [];
    }
  }
  return listProcesses()
    .filter((p) => p.pgrp === pgid && p.state !== "Z" && p.state !== "X")
    .map((p) => p.pid);
}

/** Every living descendant of `root` (Linux only; empty elsewhere). */
export function findDescendants(root: number): number[] {
  const all = listProcesses();
  const children = new Map<number, number[]>();
  for (const p of all) {
    if (p.state === "Z") continue;
    children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  }
  const out: number[] = [];
  const queue = [...(children.get(root) ?? [])];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}
