/**
 * What the benchmarks run against: the same real-thing variables as the tests. With
 * HYPHA_CONDA_TEST_PACKAGE_MANAGER (absolute path of a real conda, mamba or micromamba) and
 * HYPHA_CONDA_TEST_CHANNEL (a channel URL holding the fixture packages), every benchmark that can uses the
 * real tool; with HYPHA_CONDA_TEST_SERVER_URL (and HYPHA_CONDA_TEST_TOKEN), those that talk to Hypha use that
 * server. Otherwise the fake micromamba, fixtures/channel and the Hypha test server. Each result records what
 * produced it (`producedBy`), and the report prints it per benchmark.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const FAKE_MICROMAMBA = path.join(REPO, "test", "support", "fake-pm", "bin", "micromamba");
const FIXTURE_CHANNEL = pathToFileURL(path.join(REPO, "fixtures", "channel")).href.replace(/\/+$/, "");

function resolveTarget(env) {
  const pmPath = env.HYPHA_CONDA_TEST_PACKAGE_MANAGER?.trim();
  const channel = env.HYPHA_CONDA_TEST_CHANNEL?.trim();
  if (pmPath && !channel) throw new Error("HYPHA_CONDA_TEST_PACKAGE_MANAGER is set but HYPHA_CONDA_TEST_CHANNEL is not: set it to a channel URL holding the fixture packages");
  if (pmPath && (!path.isAbsolute(pmPath) || !fs.existsSync(pmPath))) throw new Error(`HYPHA_CONDA_TEST_PACKAGE_MANAGER=${pmPath} is not an absolute path to an existing executable`);
  const serverUrl = env.HYPHA_CONDA_TEST_SERVER_URL?.trim();
  return {
    packageManager: pmPath ? { kind: "real", path: pmPath, channelUrl: channel } : { kind: "fake", path: FAKE_MICROMAMBA, channelUrl: FIXTURE_CHANNEL },
    server: serverUrl ? { kind: "real", url: serverUrl, token: env.HYPHA_CONDA_TEST_TOKEN?.trim() || undefined } : { kind: "test" },
  };
}

export const TARGET = resolveTarget(process.env);

/** The fake micromamba and the fixture channel, for figures that need the fake's invocation log or knobs. */
export const FAKE_TARGET = { kind: "fake", path: FAKE_MICROMAMBA, channelUrl: FIXTURE_CHANNEL };

const used = { packageManagers: new Set(), servers: new Set(), clients: new Set() };

/** The package manager a benchmark uses: the real one when given, unless the figure needs the fake. */
export function packageManagerFor({ fakeOnly = false } = {}) {
  const pm = fakeOnly ? FAKE_TARGET : TARGET.packageManager;
  used.packageManagers.add(pm.kind === "real" ? `real ${path.basename(pm.path)} at ${pm.path}, channel ${pm.channelUrl}` : `fake micromamba (test/support/fake-pm)${TARGET.packageManager.kind === "real" ? ", this figure needs the fake's invocation log or knobs" : ""}`);
  return pm;
}

/** Records that a benchmark talked to the Hypha test server or the real one. */
export function noteServer(kind, url) {
  used.servers.add(kind === "real" ? `real Hypha at ${url}` : "Hypha test server (test/support/hypha-server)");
}

/** Records the Hypha client a benchmark compared with (bridge-direct: the benchmark's own or the real hypha_rpc). */
export function noteDirectClient(label) {
  used.clients.add(`direct client: ${label}`);
}

/** What produced a benchmark's figures, written into its result. */
export function producedBy() {
  return { packageManager: [...used.packageManagers], server: [...used.servers], ...(used.clients.size ? { client: [...used.clients] } : {}) };
}
