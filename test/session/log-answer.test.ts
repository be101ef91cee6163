import { describe, expect, it } from "vitest";
import { answerLogs, parseLogShape } from "../../src/session/log-answer.js";
import { SessionLogs } from "../../src/session/logs.js";

function sample(): SessionLogs {
  const logs = new SessionLogs({ maxLines: 100, maxBytes: 10_000 });
  logs.append("progress", "p1");
  logs.append("stdout", "o1");
  logs.append("stderr", "e1");
  logs.append("stdout", "o2");
  logs.append("error", "x1");
  logs.append("stdout", "o3");
  return logs;
}

describe("get_logs in Hypha 0.21.135's shape", () => {
  it("lists every entry in order as {type, content}, with the seed's lists next to them when untyped", () => {
    expect(answerLogs(sample(), undefined, undefined, undefined, "items")).toEqual({
      items: [
        { type: "progress", content: "p1" },
        { type: "stdout", content: "o1" },
        { type: "stderr", content: "e1" },
        { type: "stdout", content: "o2" },
        { type: "error", content: "x1" },
        { type: "stdout", content: "o3" },
      ],
      total: 6,
      offset: 0,
      limit: null,
      log: ["p1", "o1", "o2", "o3"],
      error: ["e1", "x1"],
    });
  });

  it("filters by type, then pages the filtered list; total counts the filtered list", () => {
    expect(answerLogs(sample(), "stdout", 1, 1, "items")).toEqual({ items: [{ type: "stdout", content: "o2" }], total: 3, offset: 1, limit: 1 });
    expect(answerLogs(sample(), "stdout", 2, null, "items")).toEqual({ items: [{ type: "stdout", content: "o3" }], total: 3, offset: 2, limit: null });
    expect(answerLogs(sample(), "info", 0, null, "items")).toEqual({ items: [], total: 0, offset: 0, limit: null });
  });

  it("takes type 'log' (the app manager's documented value) as the seed's log list: stdout, info, progress", () => {
    expect(answerLogs(sample(), "log", 1, 2, "items")).toEqual({ items: [{ type: "stdout", content: "o1" }, { type: "stdout", content: "o2" }], total: 4, offset: 1, limit: 2 });
    expect(answerLogs(sample(), "log", 0, null, "seed")).toEqual(["p1", "o1", "o2", "o3"]);
  });

  it("pages the untyped items across types; limit 0 gives only the total, the seed's lists keep 'no limit'", () => {
    const paged = answerLogs(sample(), null, 2, 2, "items");
    expect(paged).toMatchObject({ items: [{ type: "stderr", content: "e1" }, { type: "stdout", content: "o2" }], total: 6, offset: 2, limit: 2 });
    expect(paged).toMatchObject({ log: ["o2", "o3"], error: [] });
    expect(answerLogs(sample(), null, 0, 0, "items")).toMatchObject({ items: [], total: 6, log: ["p1", "o1", "o2", "o3"], error: ["e1", "x1"] });
  });

  it("answers exactly the seed's shapes when the operator chose them", () => {
    expect(answerLogs(sample(), "stdout", 1, 0, "seed")).toEqual(["o2", "o3"]);
    expect(answerLogs(sample(), undefined, 0, undefined, "seed")).toEqual({ log: ["p1", "o1", "o2", "o3"], error: ["e1", "x1"] });
  });

  it("starts with a truncation item once the limits dropped entries", () => {
    const logs = new SessionLogs({ maxLines: 3, maxBytes: 1_000_000 });
    for (let i = 0; i < 5; i += 1) logs.append(i % 2 === 0 ? "stdout" : "stderr", `line ${i}`);
    const all = answerLogs(logs, null, 0, null, "items") as { items: Array<{ type: string; content: string }>; total: number };
    expect(all.items[0]).toEqual({ type: "info", content: expect.stringMatching(/^\[\.\.\. 2 earlier lines truncated/) });
    expect(all.items.slice(1).map((i) => i.content)).toEqual(["line 2", "line 3", "line 4"]);
    expect(all.total).toBe(4);
    const stdout = answerLogs(logs, "stdout", 0, null, "items") as { items: Array<{ type: string; content: string }> };
    expect(stdout.items[0]).toEqual({ type: "stdout", content: expect.stringMatching(/1 earlier stdout lines truncated/) });
  });

  it("refuses a bad type, offset or limit, and a bad shape setting, saying what is accepted", () => {
    expect(() => answerLogs(sample(), "debug", 0, null, "items")).toThrow(/Unknown log type "debug"\. Use one of stdout, stderr, info, error, progress, log/);
    expect(() => answerLogs(sample(), null, -1, null, "items")).toThrow(/offset must be a non-negative integer/);
    expect(() => answerLogs(sample(), null, 0, 2.5, "items")).toThrow(/limit must be a non-negative integer/);
    expect(parseLogShape("seed", "--log-shape")).toBe("seed");
    expect(() => parseLogShape("list", "--log-shape (HYPHA_CONDA_LOG_SHAPE)")).toThrow(/--log-shape \(HYPHA_CONDA_LOG_SHAPE\) must be one of items, seed, got "list"/);
  });
});
