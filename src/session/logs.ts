/**
 * One chronological, bounded log buffer per session. Entries are dropped oldest-first once the buffer
 * exceeds its line or byte limit; views then start with a visible truncation marker, so a reader knows
 * lines are missing. Memory stays flat under a flood: nothing outside the limits is retained.
 */
import { SessionError } from "../errors.js";
import { redact } from "../redact.js";
import type { LogLimits, LogType } from "./types.js";

export const LOG_TYPES: readonly LogType[] = ["stdout", "stderr", "info", "error", "progress"];
/** The seed's get_logs split: `log` holds stdout, info and progress; `error` holds stderr and error. */
const LOG_GROUP: readonly LogType[] = ["stdout", "info", "progress"];
const ERROR_GROUP: readonly LogType[] = ["stderr", "error"];
/**
 * What get_logs' `type` may name: an entry type, or `log`, the seed's name for its non-error list (hypha
 * 0.21.135's app manager documents `type` as "'log', 'error', or None").
 */
export const LOG_FILTERS: readonly string[] = [...LOG_TYPES, "log"];

export const DEFAULT_LOG_LIMITS: LogLimits = { maxLines: 10_000, maxBytes: 4 * 1024 * 1024 };
/** A single line longer than this is cut (a newline-free flood must not become one giant entry). */
export const MAX_LINE_BYTES = 16 * 1024;
// Bookkeeping cost charged per entry so that a flood of empty lines is bounded by bytes too.
const ENTRY_OVERHEAD_BYTES = 32;

export interface LogEntry {
  type: LogType;
  text: string;
  /** Milliseconds since the epoch. */
  time: number;
}

export type LogsView = string[] | { log: string[]; error: string[] };

/** One entry of Hypha 0.21.135's get_logs answer. */
export interface LogItem {
  type: LogType;
  content: string;
}

/** Validates log limits from an owner; throws a SessionError naming the bad value. */
export function validateLogLimits(limits: LogLimits): LogLimits {
  for (const key of ["maxLines", "maxBytes"] as const) {
    const value = limits[key];
    if (!Number.isInteger(value) || value < 1) {
      throw new SessionError("E_CONFIG", `Log limit ${key} must be a positive integer, got ${JSON.stringify(value)}. Pass a value such as ${DEFAULT_LOG_LIMITS[key]}.`);
    }
  }
  return limits;
}

/** Cuts `text` to at most `maxBytes` UTF-8 bytes, marking the cut. */
export function clampLine(text: string, maxBytes = MAX_LINE_BYTES): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  const cut = Buffer.from(text).subarray(0, maxBytes).toString("utf8").replace(/\uFFFD$/, "");
  return `${cut} [line cut at ${maxBytes} bytes]`;
}

export class SessionLogs {
  private readonly limits: LogLimits;
  // A queue with a moving head: O(1) append and drop, compacted when half of it is dead.
  private entries: LogEntry[] = [];
  private head = 0;
  private bytes = 0;
  private readonly dropped: Record<LogType, number> = { stdout: 0, stderr: 0, info: 0, error: 0, progress: 0 };

  constructor(limits: LogLimits = DEFAULT_LOG_LIMITS) {
    this.limits = validateLogLimits(limits);
  }

  /** Appends one line (redacted, clamped), dropping the oldest entries beyond the limits. */
  append(type: LogType, text: string): void {
    const line = clampLine(redact(text), Math.min(MAX_LINE_BYTES, this.limits.maxBytes));
    this.entries.push({ type, text: line, time: Date.now() });
    this.bytes += entrySize(line);
    while (this.size() > this.limits.maxLines || (this.bytes > this.limits.maxBytes && this.size() > 1)) {
      this.dropOldest();
    }
  }

  /** Appends each line of a multi-line text (e.g. an error with a traceback). */
  appendText(type: LogType, text: string): void {
    for (const line of text.replace(/\r?\n$/, "").split(/\r?\n/)) this.append(type, line);
  }

  size(): number {
    return this.entries.length - this.head;
  }

  retainedBytes(): number {
    return this.bytes;
  }

  /** Number of entries dropped so far, per type. */
  droppedCounts(): Record<LogType, number> {
    return { ...this.dropped };
  }

  /** All retained entries in order (for the local `run` and tests). */
  all(): LogEntry[] {
    return this.entries.slice(this.head);
  }

  /** The last `count` retained lines of one type. */
  tail(type: LogType, count: number): string[] {
    const out: string[] = [];
    for (let i = this.entries.length - 1; i >= this.head && out.length < count; i -= 1) {
      const entry = this.entries[i]!;
      if (entry.type === type) out.push(entry.text);
    }
    return out.reverse();
  }

  /**
   * The seed's get_logs: with `type`, that type's lines; without, `{log, error}`. `offset`/`limit` apply to
   * each list; a missing or zero limit means all (as the seed's `if limit:`).
   */
  view(type?: string | null, offset?: number | null, limit?: number | null): LogsView {
    const start = checkIndex("offset", offset ?? 0);
    const count = limit === undefined || limit === null || limit === 0 ? undefined : checkIndex("limit", limit);
    const types = checkType(type);
    if (types) return page(this.linesOf(types), start, count);
    return { log: page(this.linesOf(LOG_GROUP), start, count), error: page(this.linesOf(ERROR_GROUP), start, count) };
  }

  /**
   * Every retained entry of `types` (all types when omitted) in order, as 0.21.135's items; a first item
   * (of the filtered type, else `info`) says how many were dropped by the limits.
   */
  items(type?: string | null): LogItem[] {
    const types = checkType(type) ?? LOG_TYPES;
    return this.collect(types, types.length === 1 ? types[0]! : "info");
  }

  private collect(types: readonly LogType[], markerType: LogType): LogItem[] {
    const items: LogItem[] = [];
    const marker = this.truncationMarker(types);
    if (marker) items.push({ type: markerType, content: marker });
    for (let i = this.head; i < this.entries.length; i += 1) {
      const entry = this.entries[i]!;
      if (types.includes(entry.type)) items.push({ type: entry.type, content: entry.text });
    }
    return items;
  }

  private truncationMarker(types: readonly LogType[]): string | undefined {
    const lost = types.reduce((sum, t) => sum + this.dropped[t], 0);
    if (lost === 0) return undefined;
    const which = types.length === LOG_TYPES.length ? "" : ` ${types.join("/")}`;
    return `[... ${lost} earlier${which} lines truncated (log limits: ${this.limits.maxLines} lines, ${this.limits.maxBytes} bytes) ...]`;
  }

  private linesOf(types: readonly LogType[]): string[] {
    return this.collect(types, types[0]!).map((item) => item.content);
  }

  private dropOldest(): void {
    const entry = this.entries[this.head]!;
    this.head += 1;
    this.bytes -= entrySize(entry.text);
    this.dropped[entry.type] += 1;
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}

function entrySize(text: string): number {
  return Buffer.byteLength(text) + ENTRY_OVERHEAD_BYTES;
}

/** The one type asked for (as a list), or undefined when none was; an unknown type is a SessionError. */
function checkType(type: string | null | undefined): readonly LogType[] | undefined {
  if (type === undefined || type === null || type === "") return undefined;
  if (type === "log") return LOG_GROUP;
  if (!LOG_TYPES.includes(type as LogType)) {
    throw new SessionError("E_USAGE", `Unknown log type ${JSON.stringify(type)}. Use one of ${LOG_FILTERS.join(", ")}, or omit the type for every entry.`);
  }
  return [type as LogType];
}

export function checkIndex(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new SessionError("E_USAGE", `get_logs ${name} must be a non-negative integer, got ${JSON.stringify(value)}.`);
  }
  return value;
}

export function page<T>(lines: T[], offset: number, limit: number | undefined): T[] {
  return limit === undefined ? lines.slice(offset) : lines.slice(offset, offset + limit);
}
