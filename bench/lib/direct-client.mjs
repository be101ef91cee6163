/**
 * The direct side of the bridge-direct benchmark: the service fixture's main.py run by a python that talks
 * to Hypha itself. By default with the benchmark's small client (bench/lib/direct-client: msgpack C
 * extension + `websockets`, installed from the pip mirror into a venv under bench/.cache, reused when
 * present); with HYPHA_CONDA_TEST_HYPHA_RPC (a folder of wheels holding the real hypha_rpc) with the real
 * hypha_rpc installed from there.
 */
import fs from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { REPO, log } from "./common.mjs";

const CACHE = path.join(REPO, "bench", ".cache");
const CLIENT_DIR = path.join(REPO, "bench", "lib", "direct-client");

/** Which client the direct side uses: { kind: "bench" | "real", wheels?, label }. */
export function directClientKind(env = process.env) {
  const wheels = env.HYPHA_CONDA_TEST_HYPHA_RPC?.trim();
  if (wheels) {
    if (!fs.existsSync(wheels)) throw new Error(`HYPHA_CONDA_TEST_HYPHA_RPC=${wheels} does not exist: set it to a folder of wheels holding hypha_rpc`);
    return { kind: "real", wheels, label: `the real hypha_rpc (wheels from ${wheels})` };
  }
  return { kind: "bench", label: "the benchmark's direct client (bench/lib/direct-client: msgpack C extension + websockets)" };
}

/** Creates (or reuses) the venv for `client`; returns its python. */
export async function ensureDirectVenv(client, python = "python3") {
  const dir = path.join(CACHE, client.kind === "real" ? "direct-venv-hypha-rpc" : "direct-venv");
  const marker = path.join(dir, ".installed");
  const venvPython = path.join(dir, "bin", "python");
  const want = client.kind === "real" ? `hypha-rpc from ${client.wheels}` : "msgpack websockets";
  if (fs.existsSync(marker) && fs.readFileSync(marker, "utf8") === want && fs.existsSync(venvPython)) return venvPython;
  log(`direct client: creating ${path.relative(REPO, dir)} (${want})`);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(CACHE, { recursive: true });
  await execa(python, ["-m", "venv", dir], { stdin: "ignore" });
  const args = client.kind === "real" ? ["install", "--quiet", "--find-links", client.wheels, "hypha-rpc"] : ["install", "--quiet", "msgpack", "websockets"];
  const result = await execa(venvPython, ["-m", "pip", ...args], { reject: false, stdin: "ignore" });
  if (result.exitCode !== 0) throw new Error(`pip ${args.join(" ")} failed in ${dir}; the direct client needs these packages from the pip mirror:\n${result.stderr}`);
  const check = client.kind === "real" ? "import hypha_rpc, msgpack" : "import msgpack, websockets; from msgpack import _cmsgpack";
  await execa(venvPython, ["-c", check], { stdin: "ignore" });
  fs.writeFileSync(marker, want);
  return venvPython;
}

/**
 * Runs `main` (the service fixture's main.py) under the direct client as client `identity.clientId`;
 * resolves once it printed "serving"; returns { stop(), stderr() }.
 */
export async function startDirectApp({ python, client, main, identity }) {
  const env = {
    HYPHA_SERVER_URL: identity.serverUrl, HYPHA_WORKSPACE: identity.workspace, HYPHA_CLIENT_ID: identity.clientId,
    ...(identity.token ? { HYPHA_TOKEN: identity.token } : {}),
    ...(client.kind === "bench" ? { PYTHONPATH: CLIENT_DIR } : {}),
    PYTHONUNBUFFERED: "1",
  };
  const child = execa(python, [main], { env, extendEnv: true, reject: false, stdin: "ignore", cwd: path.dirname(main) });
  let stderr = "";
  child.stderr.on("data", (d) => { stderr += d; });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the direct app did not register its service within 30 s; its stderr:\n${stderr}`)), 30_000);
    child.stdout.on("data", (d) => { if (String(d).includes("serving")) { clearTimeout(timer); resolve(); } });
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`the direct app exited (${code}) before serving; its stderr:\n${stderr}`)); });
  });
  return {
    stderr: () => stderr,
    stop: async () => {
      child.kill("SIGTERM");
      await child;
    },
  };
}
