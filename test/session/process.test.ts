import { afterEach, describe, expect, it } from "vitest";
import { isProcessAlive, spawnAppProcess, type AppProcess } from "../../src/session/process.js";
import { PYTHON, makeTempRoot, type TempRoot } from "../support/session-doubles.js";

const spawned: AppProcess[] = [];
const roots: TempRoot[] = [];
afterEach(async () => {
  await Promise.all(spawned.splice(0).map((p) => p.terminate(0)));
  for (const root of roots.splice(0)) root.cleanup();
});

function run(code: string, env: Record<string, string> = {}) {
  const root = makeTempRoot("hcw-proc-");
  roots.push(root);
  const lines: Array<[string, string]> = [];
  const proc = spawnAppProcess({
    file: PYTHON,
    args: ["-u", "-c", code],
    cwd: root.dir,
    env,
    stdio: ["ignore", "pipe", "pipe", "pipe"],
    onLine: (stream, line) => lines.push([stream, line]),
  });
  spawned.push(proc);
  return { proc, lines, root };
}

/** Reads "PIDS a b c" from the app's stdout. */
async function waitForPids(lines: Array<[string, string]>): Promise<number[]> {
  for (let i = 0; i < 200; i += 1) {
    const found = lines.find(([s, l]) => s === "stdout" && l.startsWith("PIDS "));
    if (found) return found[1].slice(5).split(" ").map(Number);
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no PIDS line; got ${JSON.stringify(lines)}`);
}

describe("spawnAppProcess", () => {
  it("reports the exit code and splits stdout/stderr into lines", async () => {
    const { proc, lines } = run("import sys\nprint('a')\nprint('b', file=sys.stderr)\nprint('c')\nsys.exit(3)");
    const exit = await proc.exited;
    expect(exit).toEqual({ code: 3, signal: null });
    expect(lines.filter(([s]) => s === "stdout").map(([, l]) => l)).toEqual(["a", "c"]);
    expect(lines.filter(([s]) => s === "stderr").map(([, l]) => l)).toEqual(["b"]);
  });

  it("passes exactly the given environment and runs in its own process group", async () => {
    process.env.FOO_SECRET = "worker-only-value";
    try {
      const { proc, lines } = run("import os\nprint(sorted(os.environ.keys()))\nprint(os.getpgid(0) == os.getpid())", { ONLY_ME: "1" });
      await proc.exited;
      const out = lines.map(([, l]) => l);
      expect(out[0]).toContain("'ONLY_ME'");
      expect(out.join("\n")).not.toContain("FOO_SECRET");
      expect(out[1]).toBe("True");
    } finally {
      delete process.env.FOO_SECRET;
    }
  });

  it("kills a SIGTERM-ignoring app and its grandchildren, including one that left the group", async () => {
    const code = [
      "import os, signal, subprocess, sys, time",
      "signal.signal(signal.SIGTERM, signal.SIG_IGN)",
      "ignore = 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)'",
      "child = subprocess.Popen([sys.executable, '-c', ignore])",
      "escapee = subprocess.Popen([sys.executable, '-c', ignore], start_new_session=True)",
      "pid = os.fork()",
      "if pid == 0:",
      "    time.sleep(60)",
      "    os._exit(0)",
      "print('PIDS', os.getpid(), child.pid, escapee.pid, pid, flush=True)",
      "time.sleep(60)",
    ].join("\n");
    const { proc, lines } = run(code);
    const pids = await waitForPids(lines);
    expect(pids).toHaveLength(4);
    for (const pid of pids) expect(isProcessAlive(pid)).toBe(true);
    const exit = await proc.terminate(300);
    expect(exit.signal).toBe("SIGKILL");
    for (const pid of pids) expect(isProcessAlive(pid)).toBe(false);
  });

  it("a cooperative app exits on SIGTERM before the grace ends", async () => {
    const { proc, lines } = run("import os, time\nprint('PIDS', os.getpid(), flush=True)\ntime.sleep(60)");
    await waitForPids(lines);
    const exit = await proc.terminate(10_000);
    expect(exit).toEqual({ code: null, signal: "SIGTERM" });
    expect(proc.hasExited()).toBe(true);
  });

  it("cuts a newline-free flood into bounded lines", async () => {
    const { proc, lines } = run("import sys\nsys.stdout.write('q' * 100000)\nsys.stdout.flush()");
    await proc.exited;
    const out = lines.filter(([s]) => s === "stdout").map(([, l]) => l);
    expect(out.join("")).toHaveLength(100_000);
    expect(Math.max(...out.map((l) => l.length))).toBeLessThanOrEqual(16 * 1024);
  });

  it("fails clearly when the executable does not exist", () => {
    expect(() =>
      spawnAppProcess({ file: "/nonexistent/python", args: [], cwd: "/", env: {}, stdio: ["ignore", "pipe", "pipe", "pipe"], onLine: () => undefined }),
    ).toThrow(/Could not launch \/nonexistent\/python/);
  });
});
