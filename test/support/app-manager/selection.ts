/**
 * Worker selection as hypha 0.21.135 does it (hypha/apps.py `get_server_app_workers(select=True)`,
 * `_select_worker_by_load`, `_select_worker_by_function`; core/__init__.py `get_client_load`), ported
 * line by line: same mode names, same errors, same tie-breaking (Python's min()/max() keep the FIRST of
 * equal values, so ties go to the earliest worker in list order).
 */
import type { RemoteService } from "./workers.js";

/** `random` (also when unset), `first`, `last`, `exact`, `min_load`, `select:<criteria>:<function>`. */
export type SelectionMode = "random" | "first" | "last" | "exact" | "min_load" | `select:${string}`;

/** apps.py `WorkerSelectionConfig` (`timeout`, the 10 s to fetch a worker, is applied by discovery). */
export interface WorkerSelectionConfig {
  mode?: SelectionMode | null;
  /** Seconds each worker gets to answer the select function (default 2.0). */
  select_timeout?: number;
}

/** core/__init__.py `get_client_load`: RPC messages per minute, tracked only for `__rlb` clients. */
export type ClientLoad = (workspace: string, clientId: string) => number;

/** `get_server_app_workers(..., select=True)` once `workers` (in list_services order) is known. */
export async function selectWorker(workers: RemoteService[], config: WorkerSelectionConfig | undefined, clientLoad: ClientLoad, appType: string): Promise<RemoteService> {
  if (!config || !config.mode || config.mode === "random") return randomChoice(workers);
  const mode = config.mode;
  if (mode === "first") return workers[0]!;
  if (mode === "last") return workers[workers.length - 1]!;
  if (mode === "exact") {
    if (workers.length !== 1) {
      throw new Error(
        `Multiple workers found for app_type ${appType}, but mode is 'exact'. Found workers: ${pyList(workers.slice(0, 5).map((w) => w.id))}. ` +
          "You can specify mode as 'random', 'first', 'last', 'min_load', or use 'select:criteria:function' format.",
      );
    }
    return workers[0]!;
  }
  if (mode === "min_load") return selectWorkerByLoad(workers, "min", clientLoad);
  if (mode.startsWith("select:")) {
    const parts = mode.split(":");
    if (parts.length !== 3) throw new Error(`Invalid select mode format: ${mode}. Expected 'select:criteria:function'`);
    const [, criteria, functionName] = parts as [string, string, string];
    return selectWorkerByFunction(workers, criteria, functionName, config.select_timeout ?? 2.0);
  }
  throw new Error(`Invalid selection mode: ${mode}. Mode must be 'random', 'first', 'last', 'exact', 'min_load', or 'select:criteria:function' format (e.g., 'select:min:get_load')`);
}

/**
 * `_select_worker_by_load`: the server's own message-rate figure for the worker's client. Only clients
 * whose id ends in `__rlb` (app instances) are tracked; a worker's client is not, so every worker scores
 * 0 and min() returns the first: `min_load` does not spread starts over workers.
 */
export function selectWorkerByLoad(workers: RemoteService[], criteria: "min" | "max", clientLoad: ClientLoad): RemoteService {
  if (workers.length === 1) return workers[0]!;
  const values: Array<[RemoteService, number]> = [];
  for (const worker of workers) {
    if (!worker.id.includes("/")) continue; // "doesn't have expected format": skipped
    const [workspace, rest] = [worker.id.split("/")[0]!, worker.id.split("/")[1]!];
    values.push([worker, clientLoad(workspace, rest.split(":")[0]!)]);
  }
  if (values.length === 0) return randomChoice(workers);
  return pick(values, criteria);
}

/**
 * `_select_worker_by_function`: calls `functionName()` on each worker in turn (each bounded by
 * `timeoutS`; a worker without it, or failing, or late, is skipped); none answering → random.
 */
export async function selectWorkerByFunction(workers: RemoteService[], criteria: string, functionName: string, timeoutS = 2.0): Promise<RemoteService> {
  if (workers.length === 1) return workers[0]!;
  const values: Array<[RemoteService, unknown]> = [];
  for (const worker of workers) {
    const fn = worker[functionName];
    if (typeof fn !== "function") continue;
    try {
      values.push([worker, await withTimeout((fn as () => Promise<unknown>)(), timeoutS * 1000)]);
    } catch {
      // "Failed to call <function> on worker <id>": skipped
    }
  }
  if (values.length === 0) return randomChoice(workers);
  if (criteria === "min" || criteria === "max") return pick(values.map(([w, v]) => [w, pyFloat(v)] as [RemoteService, number]), criteria);
  if (criteria === "first_success") return values[0]![0];
  throw new Error(`Unknown selection criteria: ${criteria}`);
}

/** Python's min()/max() with a key: the first of equal values wins. */
function pick(values: Array<[RemoteService, number]>, criteria: "min" | "max"): RemoteService {
  let best = values[0]!;
  for (const entry of values.slice(1)) if (criteria === "min" ? entry[1] < best[1] : entry[1] > best[1]) best = entry;
  return best[0];
}

/** Python's float(): numbers, booleans and numeric strings; anything else raises (and fails the start). */
function pyFloat(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "string" && value.trim() !== "" && !Number.isNaN(Number(value))) return Number(value);
  throw new TypeError(`float() argument must be a string or a real number, not '${value === null || value === undefined ? "NoneType" : typeof value}'`);
}

function randomChoice(workers: RemoteService[]): RemoteService {
  return workers[Math.floor(Math.random() * workers.length)]!;
}

function pyList(items: string[]): string {
  return `[${items.map((i) => `'${i}'`).join(", ")}]`;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("TimeoutError")), ms)))]).finally(() => clearTimeout(timer));
}
