/**
 * The worker end of the bridge: handshake, the app's requests (connect, register_service, get_service,
 * calls into worker-side functions), calls into the app's functions, execute(), and a clean close.
 */
import { BridgeError, describeError } from "../errors.js";
import { redact, registerSecret } from "../redact.js";
import type { HyphaServer } from "../hypha/connect.js";
import { AppServices } from "./app-services.js";
import { createRequestHandler } from "./app-requests.js";
import { runExecution } from "./execute.js";
import { deferred } from "./deferred.js";
import { installLateReplyGuard } from "./guard.js";
import { installFastCalls, type FastCallStats } from "../hypha/fast-calls.js";
import { AppEvents } from "./manager-api.js";
import { AppSocket, appSocketFromEnv } from "./socket/app-socket.js";
import { pythonError, PythonFunctions, type AnyFunction, type PythonError } from "./python-functions.js";
import type { BridgeHost, BridgeHostOptions, ExecuteResult } from "./types.js";
import { createWire, PROTOCOL_VERSION, type WireMessage } from "./wire.js";

interface Pending { resolve(value: unknown): void; reject(error: unknown): void }

export function createBridgeHost(options: BridgeHostOptions): BridgeHost {
  const { identity, mode, log } = options;
  registerSecret(identity.token);
  if (mode.kind === "hypha") installLateReplyGuard((line) => log("error", line));
  const ready = deferred<void>();
  const mainDone = deferred<void>();
  const closedSignal = deferred<void>();
  const fns = new PythonFunctions({
    request: (message, blobs) => request(message, blobs).reply,
    release: (id) => {
      if (!wire.closed) wire.send({ t: "release", ids: [id] });
    },
  });
  let fastCalls: FastCallStats | undefined;
  // The app's Python holds its own socket to Hypha unless the operator keeps it in the worker.
  const appSocket = mode.kind === "hypha" && (options.appSocket ?? appSocketFromEnv())
    ? new AppSocket({ send: (m, b) => sendQuietly(m, b), server: (): Promise<HyphaServer> | undefined => services.connection(), fns, log })
    : undefined;
  const serviceMode = appSocket && mode.kind === "hypha" ? { kind: "hypha" as const, connect: (id: typeof identity) => mode.connect(id, appSocket.transport) } : mode;
  const services = new AppServices(identity, serviceMode, (server) => {
    fastCalls = installFastCalls(server, (fn, args, kwargs, context) => fns.callProxy(fn, args, kwargs, context), (line) => log("error", `bridge: ${line}`));
  });
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let closed = false;
  let closeReason = "";
  let appConnected = false;
  let handshaken = false;

  const { codec, table } = fns;
  const sendQuietly = (message: WireMessage, blobs?: Uint8Array[]): boolean => {
    if (wire.closed) return false;
    try {
      wire.send(message, blobs);
      return true;
    } catch {
      return false;
    }
  };

  // Events of the app's Hypha connection go to the app as notifications, in the order they arrive.
  const events = new AppEvents((event, data) => {
    if (wire.closed) return;
    const blobs: Uint8Array[] = [];
    try {
      wire.send({ t: "event", event, v: codec.encode(data, blobs) }, blobs);
    } catch (error) {
      log("error", `bridge: event ${JSON.stringify(event)} could not be passed to the app: ${describeError(error)}`);
    }
  });

  const request = (message: WireMessage, blobs: Uint8Array[] = []): { id: number; reply: Promise<unknown> } => {
    const id = nextId++;
    const reply = new Promise<unknown>((resolve, reject) => {
      if (closed) return reject(new BridgeError("E_BRIDGE", `the app is no longer running (${closeReason})`));
      pending.set(id, { resolve, reject });
      try {
        wire.send({ ...message, id }, blobs);
      } catch (error) {
        pending.delete(id);
        reject(error);
      }
    });
    return { id, reply };
  };

  const reply = (id: unknown, value: unknown) => {
    if (wire.closed || typeof id !== "number") return;
    const blobs: Uint8Array[] = [];
    try {
      wire.send({ t: "ok", id, v: codec.encode(value, blobs) }, blobs);
    } catch (error) {
      replyError(id, error);
    }
  };
  const replyError = (id: unknown, error: unknown) => {
    if (wire.closed || typeof id !== "number") return;
    const e = error as Error;
    wire.send({ t: "err", id, e: { type: e?.name ?? "Error", message: redact(describeError(error)), traceback: redact(e?.stack ?? "") } });
  };

  const handleRequest = createRequestHandler({ identity, services, fns, events, appSocket, log, onConnected: () => (appConnected = true) });

  const onMessage = (message: WireMessage, blobs: Uint8Array[]) => {
    if (appSocket && handshaken && message.t.startsWith("sock_") && appSocket.handle(message, blobs)) return;
    if (!handshaken) {
      if (message.t !== "hello") return failChannel(new BridgeError("E_BRIDGE", `the runner sent ${JSON.stringify(message.t)} before its hello; is the app's python running the bridge runner?`));
      if (message.protocol !== PROTOCOL_VERSION) {
        wire.send({ t: "reject", message: `bridge protocol ${String(message.protocol)} is not supported (worker speaks ${PROTOCOL_VERSION})` });
        return failChannel(new BridgeError("E_BRIDGE", `the runner speaks bridge protocol ${String(message.protocol)}, the worker ${PROTOCOL_VERSION}; reinstall hypha-conda-worker so both come from one version`));
      }
      handshaken = true;
      wire.send({ t: "welcome", protocol: PROTOCOL_VERSION, workspace: identity.workspace, client_id: identity.clientId });
      ready.resolve();
      return;
    }
    switch (message.t) {
      case "ok":
      case "err": {
        const entry = pending.get(Number(message.id));
        if (!entry) return;
        pending.delete(Number(message.id));
        if (message.t === "err") return entry.reject(pythonError(message.e as PythonError));
        try {
          entry.resolve(codec.decode(message.v, blobs));
        } catch (error) {
          entry.reject(error);
        }
        return;
      }
      case "release":
        table.release(Array.isArray(message.ids) ? message.ids : []);
        return;
      case "uses_bridge":
        // The app imported the bridge's hypha_rpc: it will connect through us, so connect now, while its
        // module still runs. An app with its own client never sends this and keeps its client id to itself.
        if (options.preconnect !== false) services.preconnect();
        return;
      case "main_done":
        if (message.connected) appConnected = true;
        log("info", `the app's entry point returned${message.connected ? "; it keeps serving" : ""}`);
        mainDone.resolve();
        return;
      default:
        handleRequest(message, blobs).then(
          (value) => reply(message.id, value),
          (error) => replyError(message.id, error),
        );
    }
  };

  const failAll = (reason: string) => {
    const error = new BridgeError("E_BRIDGE", `the app stopped before answering (${reason})`);
    for (const entry of pending.values()) entry.reject(error);
    pending.clear();
    ready.reject(new BridgeError("E_BRIDGE", `the bridge closed before the runner's handshake (${reason}); see the app's stderr`));
    mainDone.reject(new BridgeError("E_BRIDGE", `the app ended before its entry point returned (${reason})`));
  };

  const onClose = (error?: BridgeError) => {
    const first = !closed;
    if (!closed) {
      closed = true;
      closeReason = error ? error.message : "the app's process closed the bridge channel";
      if (error) log("error", `bridge: ${error.message}`);
    }
    failAll(closeReason);
    appSocket?.closeAll("the app's process ended");
    table.clear();
    events.clear();
    closedSignal.resolve();
    void services.disconnect();
    // A corrupt channel (e.g. garbage on fd 3) leaves an app that cannot serve: its owner fails the session.
    if (first && error) options.onChannelError?.(error);
  };

  const failChannel = (error: BridgeError) => wire.close(error);

  const wire = createWire(options.channel, { onMessage, onClose });

  return {
    ready: ready.promise,
    mainDone: mainDone.promise,
    get appConnected() {
      return appConnected;
    },
    registeredServices: () => services.registered(),
    get fastCalls() {
      return fastCalls;
    },
    async appSocketStats() {
      if (!appSocket || closed) return undefined;
      return (await request({ t: "sock_stats" }).reply) as { fast: number; forwarded: number };
    },
    async waitForService(id, timeoutMs) {
      const waiter = services.whenRegistered(id);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new BridgeError("E_TIMEOUT", `the app did not register service "${id}" within ${timeoutMs} ms; check that it calls register_service({"id": "${id}", ...})`)), timeoutMs);
      });
      const ended = closedSignal.promise.then(() => {
        throw new BridgeError("E_BRIDGE", `the app stopped before registering service "${id}" (${closeReason})`);
      });
      try {
        await Promise.race([waiter.promise, timeout, ended]);
      } finally {
        clearTimeout(timer);
        waiter.cancel();
      }
    },
    async callService(serviceId, method, args) {
      const service = services.lookup(serviceId);
      if (!service) throw new BridgeError("E_BRIDGE", `the app has no service "${serviceId}"; registered: ${services.registered().join(", ") || "none"}`);
      let target: unknown = service;
      for (const part of method.split(".")) target = (target as Record<string, unknown> | undefined)?.[part];
      if (typeof target !== "function") throw new BridgeError("E_BRIDGE", `service "${serviceId}" has no function "${method}"`);
      return (target as AnyFunction)(...args);
    },
    async execute(code, timeoutMs): Promise<ExecuteResult> {
      if (closed) throw new BridgeError("E_EXECUTE", `cannot execute: the app is no longer running (${closeReason})`);
      await ready.promise;
      return runExecution({ request: (m) => request(m), notify: (m) => { if (!wire.closed) wire.send(m); } }, code, timeoutMs);
    },
    async close(reason) {
      // The app's own socket carries the unregister and disconnect: send them while the app still runs.
      if (!closed && appSocket?.carrying) await services.disconnect();
      if (!closed) {
        closed = true;
        closeReason = reason;
        wire.close();
      }
      failAll(closeReason);
      await services.disconnect();
    },
  };
}
