/**
 * The bridge's public contract: how a session launches the Python runner and talks to it, and how the
 * app's services reach Hypha (or a local registry when there is no server, as in `run`).
 * Implemented in src/bridge/host.ts and src/bridge/runner-command.ts.
 */
import type { Duplex } from "node:stream";
import type { HyphaServer } from "../hypha/connect.js";
import type { SocketTransport } from "./socket/app-socket.js";

/** Who the app is on Hypha: taken from the start config. */
export interface AppIdentity {
  sessionId: string;
  appId: string;
  workspace: string;
  clientId: string;
  serverUrl: string;
  /** The app's own token from the start config (never the worker's). */
  token?: string;
  disableSsl?: boolean;
}

/** Where the services an app registers go. */
export type ServiceMode =
  /** Production: the worker connects to Hypha as the app's client and registers the services there. */
  | { kind: "hypha"; connect: (identity: AppIdentity, transport?: SocketTransport) => Promise<HyphaServer> }
  /** Local (`run` without a server): services live in the worker; get_service fails with a clear error. */
  | { kind: "local" };

/** What the executed code printed (consecutive writes to one stream merged). */
export interface StreamOutput {
  type: "stream";
  name: "stdout" | "stderr";
  text: string;
}

/** The value of the cell's final expression, as a Jupyter kernel reports it (`text/plain` is its repr). */
export interface ExecuteResultOutput {
  type: "execute_result";
  data: { "text/plain": string };
  metadata: Record<string, never>;
  execution_count: number;
}

export type ExecuteOutput = StreamOutput | ExecuteResultOutput;

/** upstream's execute() answer: `{status, outputs, error?}`, keys as its kernel worker returns them. */
export interface ExecuteResult {
  status: "ok" | "error";
  outputs: ExecuteOutput[];
  error?: { ename: string; evalue: string; traceback: string[] };
}

/** What to spawn: the env's python running the bridge runner on the entry point. */
export interface RunnerCommand {
  file: string;
  args: string[];
  /** Variables the runner needs in addition to the session's environment. */
  env: Record<string, string>;
  /** stdio for child_process.spawn: fd 3 is the bridge channel; stdout/stderr stay the app's logs. */
  stdio: ["ignore", "pipe", "pipe", "pipe"];
}

export interface BridgeHostOptions {
  /** The child's fd 3 as seen from the worker (child.stdio[3]). */
  channel: Duplex;
  identity: AppIdentity;
  mode: ServiceMode;
  /** Bridge events for the session's log (info/error lines). */
  log: (type: "info" | "error", line: string) => void;
  /** Called once when the channel fails with a protocol or I/O error (not on a clean close): the app can no longer serve. */
  onChannelError?: (error: Error) => void;
  /**
   * Open the app's Hypha connection as soon as the app imports the bridge's hypha_rpc, instead of at its
   * first connect (hypha mode only; default true). An app with the real hypha_rpc (or a client of its own)
   * never imports it and connects as its client itself.
   */
  preconnect?: boolean;
  /**
   * Let the app's Python hold its own socket to Hypha, carrying the worker's hypha-rpc traffic and
   * answering calls to its plain functions itself (hypha mode only; default true). False keeps the socket
   * in the worker, as before 0.2.
   */
  appSocket?: boolean;
}

import type { FastCallStats } from "../hypha/fast-calls.js";

export interface BridgeHost {
  /** Resolves when the runner completed the handshake; rejects if the channel fails first. */
  readonly ready: Promise<void>;
  /** Resolves when the entry point's top-level code has returned (the app may keep serving). */
  readonly mainDone: Promise<void>;
  /** True once the app called connect_to_server through the bridge. */
  readonly appConnected: boolean;
  /** Short ids ("default", ...) of the services the app registered. */
  registeredServices(): string[];
  /** How calls from Hypha to the app's functions were answered (src/hypha/fast-calls.ts); undefined before the app's Hypha connection. */
  readonly fastCalls: FastCallStats | undefined;
  /** The app's own counters when it holds its socket (calls it answered, messages it passed on); else undefined. */
  appSocketStats(): Promise<{ fast: number; forwarded: number } | undefined>;
  /** Resolves once the app registered service `id` (short id); rejects on timeout, close, or app exit. */
  waitForService(id: string, timeoutMs: number): Promise<void>;
  /** Calls `method` of a service the app registered (worker side; used by `run --call`). */
  callService(serviceId: string, method: string, args: unknown[]): Promise<unknown>;
  /** Runs code in the app's __main__ namespace (worker API `execute`). */
  execute(code: string, timeoutMs: number): Promise<ExecuteResult>;
  /** Fails in-flight calls, unregisters the services, disconnects from Hypha. Idempotent. */
  close(reason: string): Promise<void>;
}
