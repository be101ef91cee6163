/**
 * One cache shared by several hosts, with separate worker processes (esbuild bundles of
 * test/env/support/ensure-worker.ts): "hosts" named by HYPHA_CONDA_HOSTNAME in one pid space, and, where
 * the machine allows it, workers in their own UTS namespaces (`unshare --uts`) with their own host names.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa, type ResultPromise } from "execa";
import { readInvocationLog } from "../../support/fake-pm.js";
import { itFakeOnly } from "../../support/package-manager-target.js";
import { bundleForNode } from "../support/bundle.js";
import { IS_REAL, makeOptions, makeSpec, makeTestCache, workerEnv, type TestCache } from "../support/env-fixtures.js";
import { cacheLayout, envLockPath } from "../../../src/env/cache/cache-layout.js";
import { readLockHolder } from "../../../src/env/cache/lock.js";
import { readMarker } from "../../../src/env/cache/marker.js";
import { hashEnvSpec } from "../../../src/env/spec/hash.js";
import type { EnvSpec } from "../../../src/env/types.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const STALE_MS = 2000;
let bundleDir: string;
let workerScript: string;
let cache: TestCache;
const children: ResultPromise[] = [];

/** Why UTS namespaces cannot be used here, or undefined when `unshare --uts` works. */
const utsUnavailable = await execa("unshare", ["--uts", "true"], { reject: false }).then(
  (r) => (r.exitCode === 0 ? undefined : `unshare --uts is not allowed here (${String(r.stderr).trim() || `exit ${r.exitCode}`})`),
  (error: unknown) => `unshare is not available (${(error as Error).message})`,
);

beforeAll(async () => {
  bundleDir = await fs.mkdtemp(path.join(os.tmpdir(), "hcw-fleet-bundle-"));
  workerScript = await bundleForNode(path.join(HERE, "..", "support", "ensure-worker.ts"), path.join(bundleDir, "ensure-worker.mjs"));
});
afterAll(async () => {
  await fs.rm(bundleDir, { recursive: true, force: true });
});
beforeEach(async () => {
  cache = await makeTestCache("hcw-fleet-");
});
afterEach(async () => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  for (const { pid } of readInvocationLog(cache.log)) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // Gone.
    }
  }
  await cache.cleanup();
});

type Host = { name: string; via: "variable" | "uts" };

/** Starts one worker "host" running `count` concurrent ensures of `spec`. */
function startHost(host: Host, spec: EnvSpec, count: number, knobs = {}) {
  const config = JSON.stringify({ options: makeOptions(cache), env: workerEnv(cache, { knobs }), spec, count, lockStaleMs: STALE_MS });
  const child =
    host.via === "variable"
      ? execa(process.execPath, [workerScript, config], { reject: false, buffer: true, env: { HYPHA_CONDA_HOSTNAME: host.name } })
      : // Own UTS namespace: the worker's os.hostname() is host.name (set inside it, argv only, no shell text).
        execa("unshare", ["--uts", "sh", "-c", 'hostname "$0" && exec "$@"', host.name, process.execPath, workerScript, config], { reject: false, buffer: true });
  children.push(child);
  return child;
}

interface WorkerOutput {
  host: string;
  results: Array<{ status?: string; prefix?: string; error?: string }>;
}

function outputOf(r: { exitCode?: number; stdout: unknown; stderr: unknown }): WorkerOutput {
  expect(r.exitCode, String(r.stderr)).toBe(0);
  return JSON.parse(String(r.stdout).trim().split("\n").at(-1)!) as WorkerOutput;
}

/** Collects every host name seen in the env's lock holder record while `until` runs. */
async function watchLockHosts(spec: EnvSpec, until: Promise<unknown>): Promise<Set<string>> {
  const lockPath = envLockPath(cacheLayout(cache.cacheDir), hashEnvSpec(spec));
  const seen = new Set<string>();
  let done = false;
  void until.finally(() => (done = true));
  while (!done) {
    const holder = await readLockHolder(lockPath);
    if (holder) seen.add(holder.hostname);
    await new Promise((r) => setTimeout(r, 25));
  }
  return seen;
}

const exists = (p: string) => fs.access(p).then(() => true, () => false);
const creates = () => readInvocationLog(cache.log).filter((i) => i.argv.includes("create"));

async function raceTwoHosts(hosts: [Host, Host]): Promise<void> {
  const spec = makeSpec(["python", "tinylib", "tinytool"]);
  const running = Promise.all(hosts.map((h) => startHost(h, spec, 3, { delayMsPerPackage: 300 })));
  const [lockHosts, finished] = await Promise.all([watchLockHosts(spec, running), running]);
  const outputs = finished.map(outputOf);
  // Each worker recorded the name it was given, not the machine's.
  expect(outputs.map((o) => o.host)).toEqual(hosts.map((h) => h.name));
  const results = outputs.flatMap((o) => o.results);
  expect(results.filter((r) => r.error)).toEqual([]);
  expect(results).toHaveLength(6);
  expect(results.filter((r) => r.status === "created")).toHaveLength(1);
  expect(new Set(results.map((r) => r.prefix)).size).toBe(1);
  if (!IS_REAL) expect(creates()).toHaveLength(1);
  // The lock was held under one of the two hosts' names, never the real machine's.
  expect(lockHosts.size).toBeGreaterThan(0);
  for (const name of lockHosts) expect(hosts.map((h) => h.name)).toContain(name);
}

describe("one cache shared by two hosts (separate processes)", () => {
  it("two hosts (HYPHA_CONDA_HOSTNAME) racing 3 ensures each of one spec → exactly one create fleet-wide", async () => {
    await raceTwoHosts([{ name: "host-a", via: "variable" }, { name: "host-b", via: "variable" }]);
  });

  it.skipIf(utsUnavailable !== undefined)(`two workers in separate UTS namespaces racing one spec → exactly one create${utsUnavailable ? ` (skipped: ${utsUnavailable})` : ""}`, async () => {
    await raceTwoHosts([{ name: "uts-host-a", via: "uts" }, { name: "uts-host-b", via: "uts" }]);
  });

  for (const via of ["variable", "uts"] as const) {
    const title = `${via === "uts" ? "in UTS namespaces: " : ""}host A dies mid-create (worker and tool gone, lock left behind): host B takes over once the heartbeat stood still, sweeps the partial env, builds it`;
    const register = via === "uts" && utsUnavailable ? (name: string, fn: () => unknown) => it.skip(`${name} (skipped: ${utsUnavailable})`, fn) : itFakeOnly;
    register(title, () => hostDiesMidCreate(via));
  }
});

/** Host A (named by `via`) dies mid-create; host B finishes the env. */
async function hostDiesMidCreate(via: Host["via"]): Promise<void> {
  const spec = makeSpec(["python", "tinylib", "tinytool", "tinyactivate"]);
  const lockPath = envLockPath(cacheLayout(cache.cacheDir), hashEnvSpec(spec));
  const a = startHost({ name: "host-a", via }, spec, 1, { delayMsPerPackage: 1500 });
  await new Promise<void>((resolve, reject) => {
    a.stdout!.on("data", (chunk: Buffer) => chunk.toString().includes('"creating"') && resolve());
    a.on("exit", () => reject(new Error("host A's worker exited before creating")));
  });
  const holderOnA = await readLockHolder(lockPath);
  expect(holderOnA).toMatchObject({ hostname: "host-a", state: "creating" });
  const partialPrefix = String(holderOnA!.prefix);
  // Let the tool start linking into the env (bounded wait), then the whole host goes: worker and tool.
  for (let tries = 0; tries < 400 && !(await exists(path.join(partialPrefix, "conda-meta"))); tries += 1) await new Promise((r) => setTimeout(r, 50));
  a.kill("SIGKILL");
  await a;
  for (const { pid } of creates()) process.kill(-pid, "SIGKILL");
  await fs.access(path.join(partialPrefix, "conda-meta"));
  expect(await readMarker(partialPrefix)).toBeUndefined();
  const leftByA = path.join(partialPrefix, "left-by-host-a");
  await fs.writeFile(leftByA, "partial");

  const b = await startHost({ name: "host-b", via }, spec, 2);
  const { results } = outputOf(b);
  expect(results.filter((r) => r.error)).toEqual([]);
  expect(results.filter((r) => r.status === "created")).toHaveLength(1);
  expect(results.map((r) => r.prefix)).toEqual([partialPrefix, partialPrefix]);
  expect(await readMarker(partialPrefix)).toMatchObject({ hash: hashEnvSpec(spec) });
  await execa(path.join(partialPrefix, "bin", "python"), ["-c", "import tinylib"]);
  await expect(fs.access(leftByA)).rejects.toThrow();
  expect(creates()).toHaveLength(2);
  // Nothing of either host is left: no lock, no holder record.
  expect(await readLockHolder(lockPath)).toBeUndefined();
  await expect(fs.access(lockPath)).rejects.toThrow();
}
