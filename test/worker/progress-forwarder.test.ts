import { describe, expect, it } from "vitest";
import { createProgressForwarder } from "../../src/worker/progress-forwarder.js";
import type { ProgressEvent } from "../../src/progress.js";

const event = (message: string): ProgressEvent => ({ phase: "launching", type: "info", message, elapsed: 0 });

describe("createProgressForwarder", () => {
  it("delivers in order without making the producer wait", async () => {
    const seen: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const f = createProgressForwarder(async (info) => { await gate; seen.push(info.message as string); }, 5_000);
    f.sink(event("one"));
    f.sink(event("two"));
    f.sink(event("three"));
    expect(seen).toEqual([]); // the sink returned although the callback is still blocked
    release();
    await f.flush();
    expect(seen).toEqual(["one", "two", "three"]);
  });

  it("survives a throwing callback and gives up after repeated failures", async () => {
    let calls = 0;
    const f = createProgressForwarder(() => { calls += 1; throw new Error("remote gone"); }, 1_000);
    for (let i = 0; i < 6; i++) f.sink(event(`m${i}`));
    await f.flush();
    f.sink(event("late"));
    await f.flush();
    expect(calls).toBe(3);
  });

  it("abandons a callback that never answers after the per-call timeout", async () => {
    const seen: string[] = [];
    const f = createProgressForwarder((info) => { seen.push(info.message as string); return new Promise(() => undefined); }, 20);
    f.sink(event("a"));
    f.sink(event("b"));
    await f.flush(2_000);
    expect(seen).toEqual(["a", "b"]);
  });

  it("redacts Bearer credentials in messages", async () => {
    const seen: string[] = [];
    const f = createProgressForwarder((info) => { seen.push(info.message as string); }, 1_000);
    f.sink(event("GET /x Authorization: Bearer abcdefghijk"));
    await f.flush();
    expect(seen[0]).not.toContain("abcdefghijk");
  });
});
