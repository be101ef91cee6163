/**
 * The Hypha server a benchmark talks to: a real one when HYPHA_CONDA_TEST_SERVER_URL and
 * HYPHA_CONDA_TEST_TOKEN are set (every client then connects with that token, in its workspace), else a
 * fresh Hypha test server issuing a token per client in a bench workspace.
 */
import { loadDist } from "./common.mjs";
import { loadHyphaTestServer } from "./support-build.mjs";
import { TARGET, noteServer } from "./target.mjs";

/** Opens the server: { kind, url, workspace, tokenFor(clientId), stop() }. */
export async function openBenchServer({ workspace = "ws-bench" } = {}) {
  if (TARGET.server.kind === "real") {
    const { url, token } = TARGET.server;
    if (!token) throw new Error("HYPHA_CONDA_TEST_SERVER_URL is set but HYPHA_CONDA_TEST_TOKEN is not: the benchmarks need a token for the real server");
    const dist = await loadDist();
    const probe = await dist.connectToHypha({ server_url: url, token, method_timeout: 30 });
    const realWorkspace = probe.config.workspace;
    await probe.disconnect();
    noteServer("real", url);
    return { kind: "real", url, workspace: realWorkspace, tokenFor: () => token, stop: async () => undefined };
  }
  const { startHyphaTestServer } = await loadHyphaTestServer();
  const server = await startHyphaTestServer();
  noteServer("test");
  return { kind: "test", url: server.url, workspace, tokenFor: (clientId) => server.issueToken({ workspace, clientId, userId: "bench" }), stop: () => server.stop() };
}
