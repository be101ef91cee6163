/** Test helpers for the bridge: run a Python app through the real runner on the machine's python3. */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { createBridgeHost } from "../../src/bridge/host.js";
import { buildRunnerCommand } from "../../src/bridge/runner-command.js";
import type { AppIdentity, BridgeHost, ExecuteResult, ServiceMode } from "../../src/bridge/types.js";

export const PYTHON = execFileSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).trim();

export interface RunningApp {
  host: BridgeHost;
  child: ChildProcess;
  dir: string;
  stdout(): string;
  stderr(): string;
  logs: Array<{ type: string; line: string }>;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

export function localIdentity(overrides: Partial<AppIdentity> = {}): AppIdentity {
  return { sessionId: "ws-test/app-client", appId: "app", workspace: "ws-test", clientId: "app-client", serverUrl: "http://127.0.0.1:9", token: "tok-secret-123456", ...overrides };
}

/** Writes `files` into a temp dir and starts main.py through the runner with a bridge host attached. */
export function startApp(source: string, options: { mode?: ServiceMode; identity?: AppIdentity; files?: Record<string, string>; env?: Record<string, string>; kernel?: boolean } = {}): RunningApp {
  const dir = mkdtempSync(join(tmpdir(), "bridge-test-"));
  writeFileSync(join(dir, "main.py"), source);
  for (const [name, text] of Object.entries(options.files ?? {})) writeFileSync(join(dir, name), text);
  const identity = options.identity ?? localIdentity();
  const command = buildRunnerCommand({ pythonPath: PYTHON, entryPoint: "main.py", cwd: dir, ...(options.kernel ? { kernel: true } : {}) });
  const child = spawn(command.file, command.args, {
    cwd: dir,
    stdio: command.stdio,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HYPHA_SERVER_URL: identity.serverUrl,
      HYPHA_WORKSPACE: identity.workspace,
      HYPHA_CLIENT_ID: identity.clientId,
      HYPHA_TOKEN: identity.token ?? "",
      HYPHA_APP_ID: identity.appId,
      ...command.env,
      ...options.env,
    },
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  // "close" (not "exit"): resolves after the output pipes are drained too.
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  const logs: Array<{ type: string; line: string }> = [];
  const host = createBridgeHost({
    channel: child.stdio[3] as Duplex,
    identity,
    mode: options.mode ?? { kind: "local" },
    log: (type, line) => logs.push({ type, line }),
  });
  return {
    host,
    child,
    dir,
    logs,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
        await exited;
        clearTimeout(timer);
      }
      await host.close("test finished");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it holds (stdout and the bridge are separate pipes, so their order is not fixed). */
export async function eventually(check: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The `text/plain` of an execute answer's `execute_result` output (the cell's final expression), if any. */
export function resultText(result: ExecuteResult): string | undefined {
  const output = result.outputs.find((o) => o.type === "execute_result");
  return output?.type === "execute_result" ? output.data["text/plain"] : undefined;
}
