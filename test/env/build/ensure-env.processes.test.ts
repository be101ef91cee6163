/**
 * Cross-process behaviour: separate worker processes (esbuild bundles of test/env/support/ensure-worker.ts)
 * share one cache.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa, type ResultPromise } from "execa";
import { readInvocationLog } from "../../support/fake-pm.js";
import { bundleForNode } from "../support/bundle.js";
import { itFakeOnly } from "../../support/package-manager-target.js";
import { IS_REAL, makeManager, makeOptions, makeSpec, makeTestCache, workerEnv, type TestCache } from "../support/env-fixtures.js";
import { markerPath, readMarker } from "../../../src/env/cache/marker.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
let bundleDir: string;
let workerScript: string;
let cache: TestCache;
const children: ResultPromise[] = [];

beforeAll(async () => {
  bundleDir = await fs.mkdtemp(path.join(os.tmpdir(), "hcw-bundle-"));
  workerScript = await bundleForNode(path.join(HERE, "..", "support", "ensure-worker.ts"), path.join(bundleDir, "ensure-worker.mjs"));
});
afterAll(async () => {
  await fs.rm(bundleDir, { recursive: true, force: true });
});
beforeEach(async () => {
  cache = await makeTestCache();
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

/** True while `pid` runs (a killed orphan may linger as a zombie when PID 1 does not reap). */
async function isRunning(pid: number): Promise<boolean> {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) [ZX] /.test(stat);
  } catch {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

function startWorker(spec: ReturnType<typeof makeSpec>, count: number, knobs = {}) {
  const config = { options: makeOptions(cache), env: workerEnv(cache, { knobs }), spec, count, lockStaleMs: 2000 };
  const child = execa(process.execPath, [workerScript, JSON.stringify(config)], { reject: false, buffer: true });
  children.push(child);
  return child;
}

describe("ensureEnv across processes", () => {
  it("2 processes × 5 concurrent ensures of one spec → exactly 1 create", async () => {
    const spec = makeSpec(["python", "tinylib", "tinytool"]);
    const [a, b] = await Promise.all([startWorker(spec, 5, { delayMsPerPackage: 150 }), startWorker(spec, 5, { delayMsPerPackage: 150 })]);
    const results = [a, b].flatMap((r) => {
      expect(r.exitCode, String(r.stderr)).toBe(0);
      const last = String(r.stdout).trim().split("\n").at(-1)!;
      return (JSON.parse(last) as { results: Array<{ status?: string; prefix?: string; error?: string }> }).results;
    });
    expect(results).toHaveLength(10);
    expect(results.filter((r) => r.error)).toEqual([]);
    expect(results.filter((r) => r.status === "created")).toHaveLength(1);
    expect(new Set(results.map((r) => r.prefix)).size).toBe(1);
    if (!IS_REAL) expect(readInvocationLog(cache.log).filter((i) => i.argv.includes("create"))).toHaveLength(1);
  });

  itFakeOnly("a worker SIGKILLed mid-create: its orphaned tool is killed, the partial env never used, the next ensure rebuilds", async () => {
    const spec = makeSpec(["python", "tinylib", "tinytool", "tinyactivate"]);
    const child = startWorker(spec, 1, { delayMsPerPackage: 1500 });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on("data", (chunk: Buffer) => chunk.toString().includes('"creating"') && resolve());
      child.on("exit", () => reject(new Error("worker exited before creating")));
    });
    // Let the tool start linking into the prefix, then kill the worker (not its tool).
    await new Promise((r) => setTimeout(r, 800));
    child.kill("SIGKILL");
    await child;
    const orphan = readInvocationLog(cache.log).find((i) => i.argv.includes("create"))!;
    expect(await isRunning(orphan.pid)).toBe(true);

    const result = await makeManager(cache).ensureEnv(spec);
    expect(result.status).toBe("created");
    expect(await isRunning(orphan.pid)).toBe(false);
    expect(await readMarker(result.prefix)).toMatchObject({ hash: result.hash });
    await fs.access(markerPath(result.prefix));
    await execa(result.pythonPath, ["-c", "import tinylib"]);
    expect(readInvocationLog(cache.log).filter((i) => i.argv.includes("create"))).toHaveLength(2);
  });
});
