/**
 * Which Hypha server integration tests run against. With HYPHA_CONDA_TEST_SERVER_URL and
 * HYPHA_CONDA_TEST_TOKEN set: that real server (what is possible against it). Otherwise: a fresh
 * Hypha test server on 127.0.0.1. Tests that need the test server's knobs (issueToken, restart,
 * registry, app-manager stand-in) skip with a visible reason against a real server.
 */
import { connectToHypha } from "../../src/hypha/connect.js";
import { startHyphaTestServer, type HyphaTestServer } from "./hypha-server.js";

export const SERVER_URL_VAR = "HYPHA_CONDA_TEST_SERVER_URL";
export const TOKEN_VAR = "HYPHA_CONDA_TEST_TOKEN";

export interface ServerTarget {
  kind: "test" | "real";
  /** `http(s)://host:port`, what hypha-rpc takes as server_url. */
  url: string;
  /** Real: the configured token (may install apps). Test: a token for `workspace`. */
  token: string;
  /** The workspace `token` connects to. */
  workspace: string;
  /** The test server with its knobs; undefined against a real server. */
  server?: HyphaTestServer;
  /** Stops the test server; a no-op for a real one. */
  stop(): Promise<void>;
}

export interface RealServerConfig {
  url: string;
  token: string;
}

/** The real server configured by the environment, or undefined; half a configuration is an error. */
export function realServerConfig(env: NodeJS.ProcessEnv = process.env): RealServerConfig | undefined {
  const url = env[SERVER_URL_VAR]?.trim();
  const token = env[TOKEN_VAR]?.trim();
  if (!url && !token) return undefined;
  if (!url || !token) {
    throw new Error(`Set both ${SERVER_URL_VAR} and ${TOKEN_VAR} to test against a real Hypha server (only ${url ? SERVER_URL_VAR : TOKEN_VAR} is set), or unset both to use the test server`);
  }
  if (!/^https?:\/\/[^\s/]+/.test(url)) throw new Error(`${SERVER_URL_VAR} must be an http(s) URL such as https://hypha.example.org, got ${JSON.stringify(url)}`);
  return { url: url.replace(/\/+$/, ""), token };
}

/** Why a test that needs the test server's knobs is skipped, or undefined when it can run. */
export function testServerOnlyReason(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return realServerConfig(env) ? `needs the Hypha test server's knobs; ${SERVER_URL_VAR} points at a real server` : undefined;
}

/** Why a real-server variant is skipped, or undefined when one is configured. */
export function realServerSkipReason(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return realServerConfig(env) ? undefined : `no real Hypha server: set ${SERVER_URL_VAR} and ${TOKEN_VAR} to run this variant`;
}

/** A test title that shows its skip reason in the runner's output. */
export function titleWithSkipReason(title: string, reason: string | undefined): string {
  return reason ? `${title} [skipped: ${reason}]` : title;
}

/** Opens the target: the real server when configured, else a new test server (token for `workspace`). */
export async function openServerTarget(options: { workspace?: string; userId?: string } = {}): Promise<ServerTarget> {
  const real = realServerConfig();
  if (real) {
    // The token decides the workspace on a real server; ask it once.
    const probe = await connectToHypha({ server_url: real.url, token: real.token, method_timeout: 30 }).catch((error: Error) => {
      throw new Error(`Cannot connect to ${real.url} with ${TOKEN_VAR}: ${error.message}. Check the URL and that the token is valid`, { cause: error });
    });
    const workspace = probe.config.workspace;
    await probe.disconnect();
    return { kind: "real", url: real.url, token: real.token, workspace, stop: async () => undefined };
  }
  const server = await startHyphaTestServer();
  const userId = options.userId ?? "test-user";
  const workspace = options.workspace ?? `ws-user-${userId}`;
  return { kind: "test", url: server.url, token: server.issueToken({ workspace, userId }), workspace, server, stop: () => server.stop() };
}
