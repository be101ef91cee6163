/**
 * Runs a package-manager command: argv array (no shell), its own process group so a timeout or an abort
 * kills the whole tree (the tool's pip and any helpers), stdout and stderr streamed line by line while also
 * kept (stdout whole, for the final JSON document; stderr's tail, for pip's error).
 */
import { loadExeca } from "../../../load-execa.js";
import type { ToolCommand } from "./argv.js";

export interface RunToolOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  cwd?: string;
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
  /** Called with the tool's pid (= its process group id) right after it started. */
  onSpawn?: (pid: number) => void;
  /** Grace between SIGTERM and SIGKILL of the group. */
  killGraceMs?: number;
}

export interface ToolRun {
  exitCode: number | undefined;
  signal: string | undefined;
  stdout: string;
  /** Last lines of stderr (bounded). */
  stderrTail: string[];
  timedOut: boolean;
  aborted: boolean;
  /** Set when the executable could not be started at all. */
  spawnError?: string;
}

const STDERR_TAIL_LINES = 60;
const liveGroups = new Set<number>();
let exitHookInstalled = false;

/** Runs `command` to completion, timeout or abort; never rejects for a failing tool. */
export async function runTool(command: ToolCommand, options: RunToolOptions): Promise<ToolRun> {
  installExitHook();
  const stderrTail: string[] = [];
  const emit = (stream: "stdout" | "stderr") =>
    function* (line: unknown) {
      const text = String(line);
      if (stream === "stderr") {
        stderrTail.push(text);
        if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
      }
      try {
        options.onLine?.(text, stream);
      } catch {
        // A progress consumer must not break the create.
      }
      yield text;
    };
  const execa = await loadExeca();
  const child = execa(command.file, command.args, {
    env: command.env,
    extendEnv: false,
    cwd: options.cwd,
    stdin: "ignore",
    stdout: emit("stdout"),
    stderr: [emit("stderr")],
    buffer: { stdout: true, stderr: false },
    detached: true,
    reject: false,
    maxBuffer: 64 * 1024 * 1024,
  });
  const pid = child.pid;
  if (pid !== undefined) {
    liveGroups.add(pid);
    try {
      options.onSpawn?.(pid);
    } catch {
      // Informational only.
    }
  }
  let timedOut = false;
  let aborted = false;
  const kill = () => killGroup(pid, options.killGraceMs ?? 3000);
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, options.timeoutMs);
  const onAbort = () => {
    aborted = true;
    kill();
  };
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const result = await child;
    return {
      exitCode: result.exitCode,
      signal: result.signal,
      stdout: String(result.stdout ?? ""),
      stderrTail,
      timedOut,
      aborted,
      ...(result.failed && result.exitCode === undefined && !result.signal ? { spawnError: result.shortMessage } : {}),
    };
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
    // The tool's helpers may outlive it; nothing of this group may keep writing into the prefix.
    if (pid !== undefined) {
      signalGroup(pid, "SIGKILL");
      liveGroups.delete(pid);
    }
  }
}

function killGroup(pid: number | undefined, graceMs: number): void {
  if (pid === undefined) return;
  signalGroup(pid, "SIGTERM");
  setTimeout(() => signalGroup(pid, "SIGKILL"), graceMs).unref();
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

// A worker that exits (normally or on a handled signal) takes its package-manager groups with it.
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const pid of liveGroups) signalGroup(pid, "SIGKILL");
  });
}
