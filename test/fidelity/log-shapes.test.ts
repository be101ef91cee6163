// get_logs read the way hypha 0.21.135's app manager reads it (apps.py get_logs passes the worker's answer
// through; after a start timeout _extract_core_error reads logs["error"]), for both answer shapes: the
// default `items` (0.21.135's, plus the seed's lists when untyped) and the operator's `seed` switch.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { logContents } from "../support/app-manager.js";
import { itemsFromRecords, recordsFromItems } from "../support/app-manager/logs.js";
import { fakeSessionFactory } from "../support/fake-worker-session.js";
import { ALICE, closeWorkerBed, openWorkerBed, type WorkerBed } from "./worker-bed.js";

const factory = () =>
  fakeSessionFactory((config) => ({
    outcome: config.app_id === "silent" ? "never-register" : "serve",
    progress: ["validating", "launching"],
    stderr: ["warning: slow start", "Traceback (most recent call last):", "ValueError: no service"],
  }));

let items: WorkerBed;
let seed: WorkerBed;

beforeAll(async () => {
  items = await openWorkerBed("hcw-log-shapes-items-", { createSession: factory() }, ["app", "silent"]);
  seed = await openWorkerBed("hcw-log-shapes-seed-", { createSession: factory(), logShape: "seed" }, ["app", "silent"]);
});

afterAll(async () => {
  await closeWorkerBed(items);
  await closeWorkerBed(seed);
});

describe("the default answer serves a 0.21.135 client and an older one", () => {
  it("untyped: chronological items with total/offset/limit, and the seed's log/error lists", async () => {
    const session = await items.manager.start("app", { ...ALICE, workerId: items.registered.id, timeout: 5, wait_for_service: false });
    const answer = (await items.manager.getLogs(session.id)) as Record<string, unknown>;
    expect(items.manager.calls.at(-1)!.kwargs).toEqual({ type: null, offset: 0, limit: null, context: expect.objectContaining({ ws: ALICE.workspace }) });
    expect(logContents(answer)).toEqual(["validating", "launching", "hello from app", "warning: slow start", "Traceback (most recent call last):", "ValueError: no service"]);
    expect(answer).toMatchObject({ total: 6, offset: 0, limit: null });
    expect(answer.log).toEqual(["validating", "launching", "hello from app"]);
    expect(answer.error).toEqual(["warning: slow start", "Traceback (most recent call last):", "ValueError: no service"]);
    await items.manager.stop(session.id);
  });

  it("typed with offset/limit: the filtered list paged, total of the filtered list", async () => {
    const session = await items.manager.start("app", { ...ALICE, workerId: items.registered.id, timeout: 5, wait_for_service: false });
    const answer = await items.manager.getLogs(session.id, { type: "stderr", offset: 1, limit: 1 });
    expect(answer).toEqual({ items: [{ type: "stderr", content: "Traceback (most recent call last):" }], total: 3, offset: 1, limit: 1 });
    expect(logContents(await items.manager.getLogs(session.id, { type: "log" }))).toEqual(["validating", "launching", "hello from app"]);
    await items.manager.stop(session.id);
  });

  it("after a start timeout the server's error text is the app's error lines, as with the seed's shape", async () => {
    const failure = await items.manager.start("silent", { ...ALICE, workerId: items.registered.id, timeout: 0.3 }).catch((e: Error) => e.message);
    expect(failure).toMatch(/^Failed to start app 'silent', error: warning: slow start\nTraceback \(most recent call last\):\nValueError: no service, logs:\n/);
    expect(failure).toContain('"items":[{"type":"progress","content":"validating"}');
  });
});

describe("the seed switch (serve --log-shape seed)", () => {
  it("answers a typed call with a bare list and an untyped one with {log, error}", async () => {
    const session = await seed.manager.start("app", { ...ALICE, workerId: seed.registered.id, timeout: 5, wait_for_service: false });
    expect(await seed.manager.getLogs(session.id, { type: "stdout" })).toEqual(["hello from app"]);
    expect(await seed.manager.getLogs(session.id, { type: "progress", offset: 1 })).toEqual(["launching"]);
    expect(await seed.manager.getLogs(session.id)).toEqual({
      log: ["validating", "launching", "hello from app"],
      error: ["warning: slow start", "Traceback (most recent call last):", "ValueError: no service"],
    });
    await seed.manager.stop(session.id);
  });

  it("gives the same error text after a start timeout", async () => {
    await expect(seed.manager.start("silent", { ...ALICE, workerId: seed.registered.id, timeout: 0.3 })).rejects.toThrow(/error: warning: slow start\nTraceback[^]*ValueError: no service, logs:\n\{"log":/);
  });
});

describe("the stand-in's own log records (apps.py, python-eval)", () => {
  it("caches items as {type: [lines]} and rebuilds 0.21.135's answer from them", () => {
    const raw = recordsFromItems({ items: [{ type: "stdout", content: "a" }, { type: "stderr", content: "b" }, { type: "stdout", content: "c" }, { content: "d" }], total: 4, offset: 0, limit: null });
    expect(raw).toEqual({ stdout: ["a", "c"], stderr: ["b"], info: ["d"] });
    expect(itemsFromRecords(raw!, "stdout", 1, null)).toEqual({ items: [{ type: "stdout", content: "c" }], total: 2, offset: 1, limit: null });
    expect(itemsFromRecords(raw!, null, 0, 2)).toEqual({ items: [{ type: "stdout", content: "a" }, { type: "stdout", content: "c" }], total: 4, offset: 0, limit: 2 });
    expect(recordsFromItems({ log: ["x"], error: [] })).toBeUndefined();
  });
});
