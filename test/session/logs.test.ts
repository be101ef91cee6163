import { describe, expect, it } from "vitest";
import { SessionLogs, clampLine } from "../../src/session/logs.js";
import { registerSecret } from "../../src/redact.js";

describe("SessionLogs", () => {
  it("keeps entries in order and splits the default view into log and error", () => {
    const logs = new SessionLogs({ maxLines: 100, maxBytes: 10_000 });
    logs.append("progress", "p1");
    logs.append("stdout", "o1");
    logs.append("stderr", "e1");
    logs.append("info", "i1");
    logs.append("error", "x1");
    logs.append("stdout", "o2");
    expect(logs.view()).toEqual({ log: ["p1", "o1", "i1", "o2"], error: ["e1", "x1"] });
    expect(logs.view("stdout")).toEqual(["o1", "o2"]);
    expect(logs.view("stderr")).toEqual(["e1"]);
  });

  it("applies offset and limit to each list", () => {
    const logs = new SessionLogs({ maxLines: 100, maxBytes: 10_000 });
    for (let i = 0; i < 5; i += 1) {
      logs.append("stdout", `o${i}`);
      logs.append("stderr", `e${i}`);
    }
    expect(logs.view("stdout", 1, 2)).toEqual(["o1", "o2"]);
    expect(logs.view(undefined, 3, 5)).toEqual({ log: ["o3", "o4"], error: ["e3", "e4"] });
    expect(logs.view(null, 4, null)).toEqual({ log: ["o4"], error: ["e4"] });
    // The seed's `if limit:` treats 0 as "no limit".
    expect(logs.view("stderr", 2, 0)).toEqual(["e2", "e3", "e4"]);
    expect(logs.view("stdout", 10)).toEqual([]);
  });

  it("rejects an unknown type and bad offsets with a clear error", () => {
    const logs = new SessionLogs();
    expect(() => logs.view("debug")).toThrow(/Unknown log type "debug"/);
    expect(() => logs.view("stdout", -1)).toThrow(/offset must be a non-negative integer/);
    expect(() => logs.view("stdout", 0, 1.5)).toThrow(/limit must be a non-negative integer/);
  });

  it("bounds lines and shows a truncation marker", () => {
    const logs = new SessionLogs({ maxLines: 10, maxBytes: 1_000_000 });
    for (let i = 0; i < 25; i += 1) logs.append("stdout", `line ${i}`);
    expect(logs.size()).toBe(10);
    const lines = logs.view("stdout") as string[];
    expect(lines[0]).toMatch(/15 earlier stdout lines truncated/);
    expect(lines.slice(1)).toEqual(Array.from({ length: 10 }, (_, k) => `line ${k + 15}`));
    const split = logs.view() as { log: string[]; error: string[] };
    expect(split.log[0]).toMatch(/truncated/);
    expect(split.error).toEqual([]);
  });

  it("bounds bytes and stays flat under a flood", () => {
    const logs = new SessionLogs({ maxLines: 1_000_000, maxBytes: 64 * 1024 });
    const line = "y".repeat(200);
    for (let i = 0; i < 50_000; i += 1) logs.append(i % 10 === 0 ? "stderr" : "stdout", `${i} ${line}`);
    expect(logs.retainedBytes()).toBeLessThanOrEqual(64 * 1024);
    expect(logs.size()).toBeLessThan(400);
    const dropped = logs.droppedCounts();
    expect(dropped.stdout + dropped.stderr + logs.size()).toBe(50_000);
    const stdout = logs.view("stdout") as string[];
    expect(stdout[0]).toMatch(/earlier stdout lines truncated/);
    expect(stdout[stdout.length - 1]).toBe(`49999 ${line}`);
  });

  it("cuts a giant line and redacts registered secrets", () => {
    registerSecret("s3cr3t-token-value");
    const logs = new SessionLogs({ maxLines: 10, maxBytes: 1024 * 1024 });
    logs.append("stdout", "token is s3cr3t-token-value");
    logs.append("stdout", "z".repeat(100_000));
    const lines = logs.view("stdout") as string[];
    expect(lines[0]).toBe("token is ***");
    expect(lines[1]!.length).toBeLessThan(20_000);
    expect(lines[1]).toMatch(/line cut at/);
    expect(clampLine("short")).toBe("short");
  });

  it("tail returns the last lines of one type", () => {
    const logs = new SessionLogs();
    for (let i = 0; i < 30; i += 1) logs.append(i % 2 ? "stderr" : "stdout", `l${i}`);
    expect(logs.tail("stderr", 3)).toEqual(["l25", "l27", "l29"]);
  });

  it("refuses invalid limits", () => {
    expect(() => new SessionLogs({ maxLines: 0, maxBytes: 10 })).toThrow(/maxLines must be a positive integer/);
  });
});
