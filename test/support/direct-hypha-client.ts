/**
 * The direct Hypha client for tests (test/support/direct-hypha-client/direct_hypha, Python stdlib only):
 * an app that uses it connects to the server itself and registers its services with the workspace
 * manager, as an app with the real hypha_rpc in its env does, without needing hypha_rpc, msgpack or
 * websockets installed. These helpers give its files (to stage with an app) and an entry point using it.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

const PACKAGE_DIR = path.resolve("test/support/direct-hypha-client/direct_hypha");

/** `{"direct_hypha/<file>.py": source}` for an app's files; stage them with `files_to_stage: ["direct_hypha/"]`. */
export function directClientFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(PACKAGE_DIR).filter((f) => f.endsWith(".py"))) {
    files[`direct_hypha/${name}`] = readFileSync(path.join(PACKAGE_DIR, name), "utf8");
  }
  return files;
}

/** The entry point of an app that connects with its HYPHA_* identity, registers `default` (protected, the default) with top-level await, and returns. */
export function directClientMain(): string {
  return [
    "import os",
    "from direct_hypha import connect_to_server",
    "server = await connect_to_server({'server_url': os.environ['HYPHA_SERVER_URL'], 'workspace': os.environ['HYPHA_WORKSPACE'],",
    "    'client_id': os.environ['HYPHA_CLIENT_ID'], 'token': os.environ['HYPHA_TOKEN']})",
    "await server.register_service({'id': 'default', 'add': lambda a, b: a + b})",
    "print('registered directly as', server.me, flush=True)",
    "",
  ].join("\n");
}
