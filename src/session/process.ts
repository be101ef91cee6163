/**
 * The app's child process: spawned from an argv array in its own process group, its output split into
 * lines, and killed as a whole group (grandchildren included) with SIGTERM, then SIGKILL after a grace.
 * Spawned with node:child_process (an argv array, never a shell) rather than execa: loading execa's ~100
 * modules costs ~110 ms, most of what a warm `run` may spend beyond python's own start-up.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { Duplex } from "node:stream";
import { SessionError, describeError } from "../errors.js";
import { MAX_LINE_BYTES } from "./logs.js";
import { findDescendants, groupMembers, isProcessAlive, processGroupOf } from "./proc-table.js";

export { isProcessAlive };

// After the exit, output still in the pipes is read for at most this long.
const STREAM_DRAIN_MS = 1000;

export interface AppProcessSpec {
  file: string;
  args: string[];
  cwd: string;
  /** The complete environment of the child: nothing of the worker's own environment is added. */
  env: Record<string, string>;
  stdio: ["ignore", "pipe", "pipe", "pipe"];
  onLine: (stream: "stdout" | "stderr", line: string) => void;
  /** Raw output chunks, as written (for live forwarding). */
  onChunk?: (stream: "stdout" | "stderr", text: string) => void;
}

export interface AppExit {
  code: number | null;
  signal: string | null;
}

export interface AppProcess {
  readonly pid: number;
  /** The child's fd 3 (the bridge channel). */
  readonly channel: Duplex;
  /** Resolves once the process exited and its output streams are drained. */
  readonly exited: Promise<AppExit>;
  hasExited(): boolean;
  /** SIGTERM to the group, SIGKILL to the group after `graceMs`; resolves when no member is left. */
  terminate(graceMs: number): Promise<AppExit>;
}

/** Spawns the app in a new process group (detached) with exactly `spec.env` as its environment. */
export function spawnAppProcess(spec: AppProcessSpec): AppProcess {
  let child: ChildProcess;
  try {
    child = spawn(spec.file, spec.args, { cwd: spec.cwd, env: spec.env, stdio: spec.stdio, detached: true, shell: false });
  } catch (error) {
    throw new SessionError("E_LAUNCH", `Could not launch ${spec.file}: ${describeError(error)}. Check that the environment's python exists and is executable.`, { cause: error });
  }
  const pid = child.pid;
  const channel = child.stdio[3] as Duplex | undefined;
  // A failed spawn (ENOENT, EACCES) is also reported as an 'error' event, which must not go unhandled.
  child.on("error", () => {});
  if (pid === undefined || !channel) {
    throw new SessionError("E_LAUNCH", `Could not launch ${spec.file} (no process id). Check that the environment's python exists and is executable.`);
  }
  const stdoutDone = pumpLines(child.stdout!, "stdout", spec);
  const stderrDone = pumpLines(child.stderr!, "stderr", spec);
  let exitedFlag = false;
  // The 'exit' event, not 'close': a grandchild holding stdout open must not hide the app's exit.
  const exited = new Promise<AppExit>((resolve) => {
    child.once("exit", (code, signal) => {
      exitedFlag = true;
      // The drain bound's timer is cleared once drained: a pending timer would keep `run` alive after the app.
      let bound: NodeJS.Timeout | undefined;
      const drainBound = new Promise<void>((done) => (bound = setTimeout(done, STREAM_DRAIN_MS)));
      void Promise.race([Promise.all([stdoutDone, stderrDone]), drainBound]).then(() => {
        clearTimeout(bound);
        resolve({ code, signal });
      });
    });
  });
  // The bridge owns the channel; an EPIPE after the app died must not become an unhandled error.
  channel.on("error", () => {});

  let terminating: Promise<AppExit> | undefined;
  return {
    pid,
    channel,
    exited,
    hasExited: () => exitedFlag,
    terminate(graceMs) {
      terminating ??= terminateGroup(pid, exited, () => exitedFlag, graceMs);
      return terminating;
    },
  };
}

async function terminateGroup(pgid: number, exited: Promise<AppExit>, hasExited: () => boolean, graceMs: number): Promise<AppExit> {
  // Descendants that left the group (setsid) are found through /proc before anyone is reparented.
  const escapees = findDescendants(pgid).filter((pid) => processGroupOf(pid) !== pgid);
  const everyoneGone = () => hasExited() && groupMembers(pgid).length === 0 && escapees.every((pid) => !isProcessAlive(pid));
  signalGroup(pgid, "SIGTERM");
  for (const pid of escapees) signalPid(pid, "SIGTERM");
  await waitUntil(everyoneGone, graceMs);
  signalGroup(pgid, "SIGKILL");
  for (const pid of escapees) signalPid(pid, "SIGKILL");
  const result = await exited;
  await waitUntil(everyoneGone, 2000);
  return result;
}

/** Splits a stream into lines; a newline-free flood is cut every MAX_LINE_BYTES so memory stays flat. */
function pumpLines(stream: NodeJS.ReadableStream, name: "stdout" | "stderr", spec: AppProcessSpec): Promise<void> {
  return new Promise((resolve) => {
    let pending = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      spec.onChunk?.(name, chunk);
      pending += chunk;
      let index = pending.indexOf("\n");
      while (index !== -1) {
        spec.onLine(name, pending.slice(0, index).replace(/\r$/, ""));
        pending = pending.slice(index + 1);
        index = pending.indexOf("\n");
      }
      while (pending.length > MAX_LINE_BYTES) {
        spec.onLine(name, pending.slice(0, MAX_LINE_BYTES));
        pending = pending.slice(MAX_LINE_BYTES);
      }
    });
    const finish = () => {
      if (pending.length > 0) spec.onLine(name, pending);
      pending = "";
      resolve();
    };
    stream.on("end", finish);
    stream.on("close", finish);
    stream.on("error", finish);
  });
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already empty.
  }
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() >= deadline) return false;
    await delay(25);
  }
  return true;
}
