/** Where the stdlib-only Python side of the bridge lives: src/bridge/python under vitest, dist/bridge/python after build. */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BridgeError } from "../errors.js";

/** Returns the absolute path of the bridge's python directory (holding runner.py and lib/). */
export function locateBridgePython(): string {
  const dir = join(dirname(fileURLToPath(import.meta.url)), "python");
  if (!existsSync(join(dir, "runner.py"))) {
    throw new BridgeError("E_BRIDGE", `the bridge runner is missing at ${join(dir, "runner.py")}; rebuild with 'npm run build' (it copies src/bridge/python to dist/bridge/python)`);
  }
  return dir;
}

/** Returns the absolute path of runner.py. */
export function locateRunner(): string {
  return join(locateBridgePython(), "runner.py");
}
