/**
 * Finding a `server-app-worker` for a manifest type, and calling it the way the Python server does:
 * keyword arguments on the wire (`args = [...positional, kwargs]`, `with_kwargs = true`), which is what
 * hypha-rpc JS emits for a trailing `{..., _rkwargs: true}` argument and Python's `f(a, k=v)` emits.
 */
import type { HyphaServer } from "../../../src/hypha/connect.js";
import type { HyphaTestServer } from "../hypha-server/server.js";
import { parseServiceId } from "../hypha-server/registry.js";
import { selectWorker, type SelectionMode } from "./selection.js";

export type { SelectionMode } from "./selection.js";
export type RemoteService = Record<string, unknown> & { id: string };

export interface WorkerInfo {
  id: string;
  workspace: string;
  name?: string;
  /** Read from the worker service itself (service infos do not carry it). */
  supported_types: string[];
  visibility: string;
}

/** Calls `method` with keyword arguments exactly as the Python server does. */
export async function callWithKwargsOn(service: RemoteService, method: string, positional: unknown[], kwargs: Record<string, unknown>): Promise<unknown> {
  const fn = service[method];
  if (typeof fn !== "function") throw new Error(`Service ${service.id} has no method ${method}`);
  return (fn as (...args: unknown[]) => Promise<unknown>)(...positional, { ...kwargs, _rkwargs: true });
}

/** All `server-app-worker` services registered in `workspace`, whatever their visibility (server-side view). */
export function workerRecordsIn(server: HyphaTestServer, workspace: string): string[] {
  return server.router.registry.find({ workspace, clientId: "*", serviceId: "*", type: "server-app-worker" }).map((r) => r.id);
}

/**
 * Picks a worker for `type`: first among the workers of `workspace`, then of `public`, as upstream
 * does. Workers are fetched through `client` (the internal client in `public`), so a protected worker
 * in another workspace refuses; when only refusals are left their error is thrown.
 */
export async function findWorker(server: HyphaTestServer, client: HyphaServer, type: string, workspace: string, mode: SelectionMode): Promise<RemoteService> {
  const refusals: string[] = [];
  for (const ws of workspace === "public" ? ["public"] : [workspace, "public"]) {
    const usable: RemoteService[] = [];
    for (const id of workerRecordsIn(server, ws)) {
      try {
        const svc = (await client.getService(id)) as RemoteService;
        if (Array.isArray(svc.supported_types) && svc.supported_types.includes(type)) usable.push(svc);
      } catch (error) {
        refusals.push(`${id}: ${(error as Error).message}`);
      }
    }
    if (usable.length > 0) return selectWorker(usable, { mode }, (w, c) => server.clientLoad.load(w, c), type);
  }
  const detail = refusals.length > 0 ? `; refused: ${refusals.join("; ")}` : "";
  throw new Error(`No server app worker found for type ${type} in workspace ${workspace} or public${detail}`);
}

/** The workers of `workspace` and `public` that `client` can reach, with their supported types. */
export async function listReachableWorkers(server: HyphaTestServer, client: HyphaServer, workspace: string): Promise<WorkerInfo[]> {
  const out: WorkerInfo[] = [];
  for (const ws of new Set([workspace, "public"])) {
    for (const id of workerRecordsIn(server, ws)) {
      const record = server.router.registry.get(id);
      try {
        const svc = (await client.getService(id)) as RemoteService;
        out.push({
          id,
          workspace: parseServiceId(id).workspace,
          ...(typeof svc.name === "string" ? { name: svc.name } : {}),
          supported_types: Array.isArray(svc.supported_types) ? (svc.supported_types as string[]) : [],
          visibility: String(record?.config.visibility ?? "protected"),
        });
      } catch {
        // unreachable from the internal client (protected): not a worker the server can use
      }
    }
  }
  return out;
}
