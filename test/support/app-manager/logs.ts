/**
 * How hypha 0.21.135's app manager reads a worker's get_logs answer (hypha/apps.py):
 * - `get_logs` returns the worker's answer unchanged; if the worker call fails and the session record holds
 *   logs (`{type: [lines]}`, kept only for python-eval apps), it rebuilds `{items, total, offset, limit}`
 *   from them (type filter, then offset/limit on the filtered list);
 * - for python-eval it caches the items of a start as that `{type: [lines]}` dict;
 * - after a failed start, `_extract_core_error` takes a dict's non-empty `error` list (the seed's shape)
 *   as the error text, else the exception's.
 */

export interface LogItemRead {
  type: string;
  content: string;
}

export interface ItemsAnswer {
  items: LogItemRead[];
  total: number;
  offset: number;
  limit: number | null;
}

/** apps.py python-eval caching: items → `{type: [contents]}`, a missing type read as `info`. */
export function recordsFromItems(answer: unknown): Record<string, string[]> | undefined {
  if (!answer || typeof answer !== "object" || !Array.isArray((answer as { items?: unknown }).items)) return undefined;
  const raw: Record<string, string[]> = {};
  for (const item of (answer as { items: Array<{ type?: string; content: string }> }).items) (raw[item.type ?? "info"] ??= []).push(item.content);
  return raw;
}

/** apps.py get_logs fallback over the records' `{type: [lines]}`. */
export function itemsFromRecords(raw: Record<string, unknown>, type: string | null, offset: number, limit: number | null): ItemsAnswer {
  let items: LogItemRead[] = [];
  for (const [logType, entries] of Object.entries(raw)) {
    if (Array.isArray(entries)) for (const entry of entries) items.push({ type: logType, content: String(entry) });
  }
  if (type) items = items.filter((item) => item.type === type);
  return { items: limit === null ? items.slice(offset) : items.slice(offset, offset + limit), total: items.length, offset, limit };
}

/** apps.py `_extract_core_error`: a logs dict's non-empty `error` list wins over the exception text. */
export function coreError(error: unknown, logs: unknown): string {
  const errors = logs && typeof logs === "object" && !Array.isArray(logs) ? (logs as { error?: unknown }).error : undefined;
  if (Array.isArray(errors) && errors.length > 0) return errors.join("\n");
  if (typeof errors === "string" && errors !== "") return errors;
  return (error as Error).message;
}

/** The contents of an items answer, as a 0.21.135 client reads them; throws on any other shape. */
export function logContents(answer: unknown): string[] {
  if (!answer || typeof answer !== "object" || !Array.isArray((answer as { items?: unknown }).items)) {
    throw new Error(`expected get_logs to answer {items, total, offset, limit}, got ${JSON.stringify(answer)?.slice(0, 200)}`);
  }
  return (answer as ItemsAnswer).items.map((item) => item.content);
}
