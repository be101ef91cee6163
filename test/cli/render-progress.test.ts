import { describe, expect, it } from "vitest";
import { Writable } from "node:stream";
import { createProgressRenderer, formatEvent } from "../../src/cli/render-progress.js";
import type { ProgressEvent } from "../../src/progress.js";

function capture(): { stream: NodeJS.WritableStream; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, text: () => chunks.join("") };
}

const ev = (phase: ProgressEvent["phase"], message: string, type: ProgressEvent["type"] = "info", elapsed = 1.25): ProgressEvent => ({ phase, type, message, elapsed });

describe("plain renderer (not a TTY)", () => {
  it("writes one timestamped line per event with the key, phase and message, and no ANSI", () => {
    const out = capture();
    const r = createProgressRenderer({ stream: out.stream, isTTY: false, now: () => new Date("2026-01-02T03:04:05.000Z") });
    r.update("apps/a", ev("resolving", "spec 1a2b"));
    r.update("apps/b", ev("done", "created /x", "success", 3));
    r.close();
    expect(out.text().split("\n").filter(Boolean)).toEqual([
      "2026-01-02T03:04:05.000Z [apps/a] … resolving: spec 1a2b (1.3s)",
      "2026-01-02T03:04:05.000Z [apps/b] ✓ done: created /x (3.0s)",
    ]);
  });

  it("strips control sequences a tool line might carry", () => {
    expect(formatEvent(ev("creating", "\u001b[2Jwiped\rline\nnext"))).toBe("… creating: wiped line next (1.3s)");
  });
});

describe("live renderer (TTY)", () => {
  it("keeps one line per key and rewrites the block in place", () => {
    const out = capture();
    const r = createProgressRenderer({ stream: out.stream, isTTY: true, columns: 80 });
    r.update("a", ev("resolving", "first-msg"));
    r.update("b", ev("creating", "two"));
    r.update("a", ev("done", "three", "success"));
    const text = out.text();
    // Second draw moves up 1 line, third draw moves up 2 (both rows).
    expect(text).toContain("\u001b[1A");
    expect(text).toContain("\u001b[2A");
    const lastFrame = text.slice(text.lastIndexOf("\u001b[2A"));
    expect(lastFrame).toContain("a  ✓ done: three");
    expect(lastFrame).toContain("b  … creating: two");
    expect(lastFrame).not.toContain("first-msg");
  });

  it("truncates lines to the terminal width", () => {
    const out = capture();
    const r = createProgressRenderer({ stream: out.stream, isTTY: true, columns: 30 });
    r.update("k", ev("creating", "x".repeat(200)));
    const line = out.text().split("\n")[0]!.replace(/\r\u001b\[2K/, "");
    expect(line.length).toBeLessThanOrEqual(29);
    expect(line.endsWith("…")).toBe(true);
  });

  it("prints plain lines for keys that would not fit on the screen", () => {
    const out = capture();
    const r = createProgressRenderer({ stream: out.stream, isTTY: true, columns: 80, rows: 3, now: () => new Date("2026-01-02T03:04:05.000Z") });
    r.update("a", ev("resolving", "1"));
    r.update("b", ev("resolving", "2"));
    r.update("c", ev("resolving", "3"));
    r.update("a", ev("done", "4", "success"));
    const text = out.text();
    expect(text).toContain("2026-01-02T03:04:05.000Z [c] … resolving: 3");
    expect(text).not.toContain("\u001b[3A");
    // After the plain line, the block is redrawn below it (no cursor move up into the plain line).
    const afterPlain = text.slice(text.indexOf("[c]"));
    expect(afterPlain).not.toContain("\u001b[2A");
    expect(afterPlain).toContain("a  ✓ done: 4");
    expect(afterPlain).toContain("b  … resolving: 2");
  });
});
