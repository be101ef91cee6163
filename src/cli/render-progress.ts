/**
 * CLI progress renderer. On a TTY: one line per key (env/source), rewritten in place with ANSI cursor
 * moves. Otherwise: plain timestamped lines, one per event. Always writes to the given stream (stderr).
 */
import type { ProgressEvent } from "../progress.js";
import { redact } from "../redact.js";

export interface ProgressRenderer {
  /** Records an event for `key` and shows it. */
  update(key: string, event: ProgressEvent): void;
  /** Stops rendering; on a TTY leaves the final lines on screen. */
  close(): void;
}

export interface ProgressRendererOptions {
  stream: NodeJS.WritableStream;
  isTTY: boolean;
  /** Terminal width for truncation on a TTY (default: the stream's columns, else 100). */
  columns?: number;
  /** Terminal height (default: the stream's rows, else 40); more keys than fit switch to plain lines. */
  rows?: number;
  /** Clock for plain-line timestamps (tests pass a fixed one). */
  now?: () => Date;
}

const ICON: Record<ProgressEvent["type"], string> = { info: "…", success: "✓", warning: "!", error: "✗" };
const ESC = "\u001b[";

/** Removes control characters so a tool's output line cannot move the cursor or clear the screen. */
function sanitize(text: string): string {
  // eslint-disable-next-line no-control-regex
  return redact(text).replace(/\u001b\[[0-9;?]*[A-Za-z]/g, "").replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
}

function truncate(text: string, width: number): string {
  if (width <= 1 || text.length <= width) return text;
  return `${text.slice(0, width - 1)}…`;
}

/** Formats one event as the text after the key: phase, message, elapsed seconds. */
export function formatEvent(event: ProgressEvent): string {
  return `${ICON[event.type]} ${event.phase}: ${sanitize(event.message)} (${event.elapsed.toFixed(1)}s)`;
}

/** Plain mode: `2026-01-01T00:00:00.000Z [key] ✓ done: ... (1.2s)` per event. */
function createPlainRenderer(opts: ProgressRendererOptions): ProgressRenderer {
  const now = opts.now ?? (() => new Date());
  return {
    update(key, event) {
      opts.stream.write(`${now().toISOString()} [${sanitize(key)}] ${formatEvent(event)}\n`);
    },
    close() {},
  };
}

/** TTY mode: a block of lines, one per key in first-seen order, redrawn on every update. */
function createLiveRenderer(opts: ProgressRendererOptions): ProgressRenderer {
  const rows = new Map<string, string>();
  let drawn = 0;
  let closed = false;
  const columns = () => opts.columns || (opts.stream as NodeJS.WriteStream).columns || 100;
  const redraw = () => {
    const width = columns();
    const keyWidth = Math.min(40, Math.max(...[...rows.keys()].map((k) => k.length)));
    let out = drawn > 0 ? `${ESC}${drawn}A` : "";
    for (const [key, text] of rows) {
      const label = truncate(key, keyWidth).padEnd(keyWidth);
      out += `\r${ESC}2K${truncate(`${label}  ${text}`, width - 1)}\n`;
    }
    drawn = rows.size;
    opts.stream.write(out);
  };
  // Cursor moves cannot reach lines scrolled off the screen: past that many keys, print plain lines instead.
  const maxRows = Math.max(1, (opts.rows || (opts.stream as NodeJS.WriteStream).rows || 40) - 1);
  const plain = createPlainRenderer(opts);
  return {
    update(key, event) {
      if (closed) return;
      const clean = sanitize(key);
      if (!rows.has(clean) && rows.size >= maxRows) {
        plain.update(key, event);
        // The plain line sits below the block: start a fresh block under it on the next redraw.
        drawn = 0;
        return;
      }
      rows.set(clean, formatEvent(event));
      redraw();
    },
    close() {
      closed = true;
    },
  };
}

/** Picks the live renderer on a TTY and plain lines otherwise. */
export function createProgressRenderer(opts: ProgressRendererOptions): ProgressRenderer {
  return opts.isTTY ? createLiveRenderer(opts) : createPlainRenderer(opts);
}
