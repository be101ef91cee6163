/**
 * The answer of `get_logs`, in the shape a client expects. Hypha 0.21.135's app manager and its own workers
 * use `{items: [{type, content}], total, offset, limit}`; the seed (older servers and clients) used
 * `{log, error}` without a type and a plain list with one. The default `items` shape serves both kinds
 * whenever it can: an untyped answer carries the seed's `log`/`error` lists next to `items` (so an older
 * app manager's `logs["error"]` still finds the errors). Only a typed call by an old client that expects a
 * bare list needs the `seed` shape, an operator switch (`serve --log-shape seed`).
 */
import { ConfigError } from "../errors.js";
import { checkIndex, page, type LogItem, type LogsView, type SessionLogs } from "./logs.js";

export const LOG_SHAPES = ["items", "seed"] as const;
export type LogShape = (typeof LOG_SHAPES)[number];
export const DEFAULT_LOG_SHAPE: LogShape = "items";

export interface LogsAnswer {
  /** Chronological; filtered by `type`, then paged by offset/limit. */
  items: LogItem[];
  /** Items of the filtered list before paging. */
  total: number;
  offset: number;
  limit: number | null;
  /** The seed's lists, only when no type was asked for. */
  log?: string[];
  error?: string[];
}

/** Parses an operator's shape setting; a bad value names the accepted ones. */
export function parseLogShape(value: string, source: string): LogShape {
  if ((LOG_SHAPES as readonly string[]).includes(value)) return value as LogShape;
  throw new ConfigError(`${source} must be one of ${LOG_SHAPES.join(", ")}, got ${JSON.stringify(value)}.`);
}

/**
 * Answers one get_logs call. In the items list a limit of 0 returns no items (only `total`), as 0.21.135;
 * the seed's lists keep the seed's rule (0 or none = all).
 */
export function answerLogs(logs: SessionLogs, type: string | null | undefined, offset: number | null | undefined, limit: number | null | undefined, shape: LogShape): LogsAnswer | LogsView {
  if (shape === "seed") return logs.view(type, offset, limit);
  const start = checkIndex("offset", offset ?? 0);
  const count = limit === undefined || limit === null ? undefined : checkIndex("limit", limit);
  const filtered = logs.items(type);
  const answer: LogsAnswer = { items: page(filtered, start, count), total: filtered.length, offset: start, limit: count ?? null };
  if (type === undefined || type === null || type === "") Object.assign(answer, logs.view(null, start, count));
  return answer;
}
