/**
 * An app that floods its stdout: the worker process (the built `serve`) keeps its memory bounded (RSS
 * sampled from /proc while the flood runs), the session's logs are truncated with a visible marker, and
 * the worker keeps answering calls during the flood and starts another app after it.
 * In-process variants: test/session/session.test.ts, test/session/session-integration.test.ts.
 */
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { logContents, type AppManagerStandIn } from "../support/app-manager.js";
import type { HyphaTestServer } from "../support/hypha-server.js";
import { ALICE } from "./support/rig.js";
import { pollUntil, rssBytes } from "./support/proc.js";
import { closeServeTestBed, openServeTestBed, startServeProcess, type ServeProcess } from "./support/serve-process.js";

/** Megabytes of output; 500 MB takes about 6 s on the 2-core machine (figures in docs/reliability.md). */
const FLOOD_MB = Number(process.env.RELIABILITY_FLOOD_MB ?? 500);
const LINE = 100;
let root: string;
let server: HyphaTestServer;
let manager: AppManagerStandIn;
let worker: ServeProcess | undefined;

beforeAll(async () => {
  ({ root, server, manager } = await openServeTestBed("hcw-rel-flood-"));
});
afterAll(() => closeServeTestBed({ root, server, manager }, [worker]));

it(`a ${FLOOD_MB} MB output flood: bounded worker memory, truncated logs with a marker, the worker keeps serving`, async () => {
  worker = await startServeProcess({ server, home: root, cacheDir: path.join(root, "cache"), workDir: path.join(root, "work"), clientId: "rel-flood" });
  const flood = [
    "import sys",
    `line = ('x' * ${LINE - 1} + '\\n') * 10000`,
    `for _ in range(${Math.ceil((FLOOD_MB * 1024 * 1024) / (LINE * 10000))}):`,
    "    sys.stdout.write(line)",
    "sys.stdout.write('flood done\\n')",
    "sys.stdout.flush()",
  ].join("\n");
  const manifest = { type: "conda-python", entry_point: "main.py", channels: ["conda-forge"], dependencies: ["python"], startup_config: { wait_for_service: false } };
  await manager.install({ manifest: { ...manifest, id: "flood" }, files: { "main.py": flood } }, { ...ALICE, appId: "flood", verify: false, compile: false });
  await manager.install({ manifest: { ...manifest, id: "after" }, files: { "main.py": "print('after the flood', flush=True)\n" } }, { ...ALICE, appId: "after", verify: false, compile: false });
  // Warm the env so the flood measures output handling, not the create.
  const warm = await manager.start("after", { ...ALICE, workerId: worker.serviceId, timeout: 60 });
  await manager.stop(warm.id);
  const idleRss = rssBytes(worker.pid)!;

  const context = manager.contextFor(ALICE);
  const started = Date.now();
  const session = await manager.start("flood", { ...ALICE, workerId: worker.serviceId, timeout: 60 });
  let peakRss = idleRss;
  let calls = 0;
  const done = await pollUntil(async () => {
    peakRss = Math.max(peakRss, rssBytes(worker!.pid) ?? 0);
    // The worker answers while it drains the flood.
    const info = (await manager.callWithKwargs(worker!.serviceId, "get_session_info", [session.id], { context })) as { status: string };
    calls += 1;
    return info.status === "completed" || info.status === "failed";
  }, 120_000, 100);
  const seconds = (Date.now() - started) / 1000;
  expect(done).toBe(true);
  console.info(
    `[reliability] flood of ${FLOOD_MB} MB in ${seconds.toFixed(1)} s (${(FLOOD_MB / seconds).toFixed(0)} MB/s); worker RSS idle ${(idleRss / 2 ** 20).toFixed(0)} MB, peak ${(peakRss / 2 ** 20).toFixed(0)} MB; ${calls} calls answered during the flood`,
  );
  const info = (await manager.callWithKwargs(worker.serviceId, "get_session_info", [session.id], { context })) as { status: string };
  expect(info.status).toBe("completed");
  expect(calls).toBeGreaterThan(1);
  // Bounded: the log buffer holds 4 MiB; the rest is garbage awaiting V8's collector. Measured growth is
  // flat in the flood size (+83 MB at 100 MB, +93 MB at 500 MB, +99 MB at 1.5 GB), so a fixed ceiling.
  expect(peakRss - idleRss).toBeLessThan(160 * 2 ** 20);
  const stdout = logContents(await manager.getLogs(session.id, { type: "stdout" }));
  expect(stdout[0]).toMatch(/^\[\.\.\. \d+ earlier stdout lines truncated \(log limits: /);
  expect(stdout.at(-1)).toBe("flood done");
  expect(stdout.length).toBeLessThanOrEqual(10_001);
  await manager.stop(session.id);

  const after = await manager.start("after", { ...ALICE, workerId: worker.serviceId, timeout: 60 });
  expect(await pollUntil(async () => logContents(await manager.getLogs(after.id, { type: "stdout" })).includes("after the flood"), 15_000, 100)).toBe(true);
  await manager.stop(after.id);
}, 180_000);
