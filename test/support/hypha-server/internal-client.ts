/**
 * The server's own internal client: a hypha-rpc client in workspace `public` as user `root`, the one the
 * real server (and the app-manager stand-in) uses to call workers.
 */
import { connectToHypha, type HyphaServer } from "../../../src/hypha/connect.js";
import type { HyphaTestServer } from "./server.js";
import { randomId } from "./tokens.js";

/** Connects a root client into workspace `public`; the caller disconnects it. */
export async function connectInternalClient(server: HyphaTestServer, clientId = randomId("hypha-server-internal", 4)): Promise<HyphaServer> {
  const token = server.issueToken({ workspace: "public", userId: "root", roles: ["admin"], clientId });
  return connectToHypha({ server_url: server.url, workspace: "public", client_id: clientId, token, method_timeout: 30 });
}
