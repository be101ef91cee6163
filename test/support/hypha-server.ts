/**
 * Entry of the Hypha test server (see docs/hypha-test-server.md): a real WebSocket server on
 * 127.0.0.1 that hypha-rpc clients connect to, standing in for the upstream Hypha server.
 */
import { HyphaTestServer, type HyphaTestServerOptions } from "./hypha-server/server.js";

export { HyphaTestServer, TEST_HYPHA_VERSION, type HttpRoute, type HyphaTestServerOptions } from "./hypha-server/server.js";
export { connectInternalClient } from "./hypha-server/internal-client.js";
export { userWorkspace, type IssueTokenOptions, type UserInfo } from "./hypha-server/tokens.js";
export type { ServiceRecord } from "./hypha-server/registry.js";

/** Starts a test server on a free port (or `options.port`); call `stop()` in afterAll/afterEach. */
export async function startHyphaTestServer(options: HyphaTestServerOptions = {}): Promise<HyphaTestServer> {
  const server = new HyphaTestServer(options);
  await server.start();
  return server;
}
