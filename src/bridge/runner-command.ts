/** The command a session spawns: the env's python running the bridge runner on the app's entry point. */
import { isAbsolute, join, normalize, sep } from "node:path";
import { BridgeError } from "../errors.js";
import { locateRunner } from "./locate.js";
import type { RunnerCommand } from "./types.js";

/** The child's file descriptor that carries the bridge channel (stdio index 3). */
export const BRIDGE_FD = 3;

export interface RunnerCommandInput {
  /** Absolute path of the env's python executable. */
  pythonPath: string;
  /** The manifest's entry point, relative to `cwd` (e.g. "main.py"). */
  entryPoint: string;
  /** The app's working directory (absolute), holding its files. */
  cwd: string;
  /**
   * Run the entry point as upstream's notebook cell (conda-jupyter-kernel): the process, its event loop and
   * the cell's namespace stay alive after the entry point returns, until the session is stopped.
   */
  kernel?: boolean;
}

/** Validates the inputs and returns argv, extra env and stdio for spawning the runner (no shell involved). */
export function buildRunnerCommand({ pythonPath, entryPoint, cwd, kernel }: RunnerCommandInput): RunnerCommand {
  if (typeof pythonPath !== "string" || !isAbsolute(pythonPath) || pythonPath.includes("\0")) {
    throw new BridgeError("E_LAUNCH", `python path ${JSON.stringify(pythonPath)} must be an absolute path to the env's python`);
  }
  if (typeof cwd !== "string" || !isAbsolute(cwd) || cwd.includes("\0")) {
    throw new BridgeError("E_LAUNCH", `app directory ${JSON.stringify(cwd)} must be an absolute path`);
  }
  const rel = typeof entryPoint === "string" ? normalize(entryPoint) : "";
  if (!rel || rel.includes("\0") || isAbsolute(rel) || rel === ".." || rel.startsWith(`..${sep}`) || !rel.endsWith(".py") || rel.startsWith("-")) {
    throw new BridgeError("E_LAUNCH", `entry point ${JSON.stringify(entryPoint)} must be a relative path to a .py file inside the app (e.g. "main.py")`);
  }
  return {
    file: pythonPath,
    args: ["-u", locateRunner(), join(cwd, rel)],
    env: { HYPHA_BRIDGE_FD: String(BRIDGE_FD), PYTHONUNBUFFERED: "1", PYTHONIOENCODING: "utf-8", ...(kernel ? { HYPHA_BRIDGE_KERNEL: "1" } : {}) },
    stdio: ["ignore", "pipe", "pipe", "pipe"],
  };
}
