/**
 * The worker end of the bridge: handshake, the app's requests (connect, register_service, get_service,
 * calls into worker-side functions), calls into the app's functions, execute(), and a clean close.
 */
import { BridgeError, describeError } from "../errors.js";
import { redact, registerSecret } from "../redact.js";
import { AppServices, type ConnectRequest } from "./app-services.js";
import { HostCodec, HostFunctionTable, PYTHON_REF, type FunctionRef } from "./codec.js";
import { runExecution } from "./execute.js";
import { installLateReplyGuard } from "./guard.js";
import type { BridgeHost, BridgeHostOptions, ExecuteResult } from "./types.js";
import { createWire, PROTOCOL_VERSION, type WireMessage } from "./wire.js";

type AnyFunction = (...args: unknown[]) => unknown;
interface Pending { resolve(value: unknown): void; reject(error: unknown): void }
interface PythonError { type?: string; message?: string; traceback?: string }

/** A JS Error that carries the Python exception's type, message and traceback (hypha-rpc sends name, message and stack). */
export function pythonError(e: PythonError | undefined): Error {
  const type = e?.type || "Exception";
  const error = new Error(e?.message ?? "the app's function failed");
  error.name = type;
  error.stack = e?.traceback ? `${type}: ${error.message}\n${e.traceback}` : `${type}: ${error.message}`;
  return error;
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  promise.catch(() => {}); // consumers that await still see the rejection; nobody else crashes on it
  return { promise, resolve, reject };
}

export function createBridgeHost(options: BridgeHostOptions): BridgeHost {
  const { identity, mode, log } = options;
  registerSecret(identity.token);
  if (mode.kind === "hypha") installLateReplyGuard((line) => log("error", line));
  const ready = deferred<void>();
  const mainDone = deferred<void>();
  const closedSignal = deferred<void>();
  const services = new AppServices(identity, mode);
  const pending = new Map<number, Pending>();
  const table = new HostFunctionTable();
  let nextId = 1;
  let closed = false;
  let closeReason = "";
  let appConnected = false;
  let handshaken = false;

  const released = new FinalizationRegistry<string>((id) => {
    if (!wire.closed) wire.send({ t: "release", ids: [id] });
  });

  const callPython = (ref: FunctionRef, args: unknown[], kwargs?: Record<string, unknown>): Promise<unknown> => {
    const blobs: Uint8Array[] = [];
    const message: WireMessage = { t: "call", fn: ref.id, args: codec.encode(args, blobs) };
    if (kwargs) message.kw = codec.encode(kwargs, blobs);
    return request(message, blobs).reply;
  };

  const pythonParams = (ref: FunctionRef) => (ref.params ?? []).filter((p) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(p));

  /** A JS function that calls the Python function `ref`; with `takesContext` the last argument goes as `context=`. */
  const makeProxy = (ref: FunctionRef, takesContext = false): AnyFunction => {
    const proxy = takesContext
      ? (...args: unknown[]) => {
          const context = args.pop();
          return callPython(ref, args, { context });
        }
      : (...args: unknown[]) => callPython(ref, args);
    Object.defineProperty(proxy, PYTHON_REF, { value: ref });
    // hypha-rpc maps keyword arguments onto parameter names parsed from toString(): give it Python's.
    const params = [...pythonParams(ref), ...(takesContext ? ["context"] : [])];
    Object.defineProperty(proxy, "toString", { value: () => `function (${params.join(", ")}) {}` });
    Object.defineProperty(proxy, "name", { value: ref.name ?? "python_function" });
    released.register(proxy, ref.id, proxy);
    return proxy;
  };

  const codec = new HostCodec(table, makeProxy);

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

  /**
   * Rebuilds the app's service so that require_context functions hand the caller context to Python as
   * `context=`. `require_context` may be true (every function) or a list of top-level function names, as in hypha-rpc.
   */
  const withContext = (value: unknown, selected: (name: string) => boolean, top = true): unknown => {
    if (!value || typeof value !== "object" || Array.isArray(value)) return value;
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => {
        if (key === "config") return [key, item];
        const ref = typeof item === "function" ? (item as { [PYTHON_REF]?: FunctionRef })[PYTHON_REF] : undefined;
        if (ref && (!top || selected(key))) {
          released.unregister(item as AnyFunction);
          return [key, makeProxy(ref, true)];
        }
        return [key, typeof item === "object" && (!top || selected(key)) ? withContext(item, selected, false) : item];
      }),
    );
  };

  const handleRequest = async (message: WireMessage, blobs: Uint8Array[]): Promise<unknown> => {
    const payload = message.v === undefined ? undefined : codec.decode(message.v, blobs);
    switch (message.t) {
      case "connect": {
        const info = await services.connect((payload ?? {}) as ConnectRequest);
        appConnected = true;
        log("info", `app connected through the bridge as ${identity.workspace}/${identity.clientId}`);
        return info;
      }
      case "register": {
        let service = payload as Record<string, unknown>;
        if (!service || typeof service !== "object") throw new BridgeError("E_BRIDGE", "register_service: the service must be a dict");
        const config = (service.config ?? {}) as Record<string, unknown>;
        const wanted = config.require_context;
        if (Array.isArray(wanted)) service = withContext(service, (name) => wanted.includes(name)) as Record<string, unknown>;
        else if (wanted) service = withContext(service, () => true) as Record<string, unknown>;
        const info = await services.register(service);
        log("info", `app registered service ${String(info.id)}`);
        return info;
      }
      case "unregister":
        return services.unregister(String(message.sid));
      case "get_service":
        return services.getService(String(message.sid), (payload ?? {}) as Record<string, unknown>);
      case "list_services":
        return services.listServices(payload);
      case "disconnect":
        await services.disconnect();
        return null;
      case "call": {
        const fn = table.get(String(message.fn));
        if (!fn) throw new BridgeError("E_BRIDGE", `function ${String(message.fn)} is no longer available (its service or call ended)`);
        const args = (codec.decode(message.args ?? [], blobs) as unknown[]) ?? [];
        const kwargs = message.kw === undefined ? undefined : (codec.decode(message.kw, blobs) as Record<string, unknown>);
        if (kwargs && Object.keys(kwargs).length > 0) args.push({ ...kwargs, _rkwargs: true });
        return await fn(...args);
      }
      default:
        throw new BridgeError("E_BRIDGE", `unknown bridge request ${JSON.stringify(message.t)} from the app`);
    }
  };

  const onMessage = (message: WireMessage, blobs: Uint8Array[]) => {
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
    if (!closed) {
      closed = true;
      closeReason = error ? error.message : "the app's process closed the bridge channel";
      if (error) log("error", `bridge: ${error.message}`);
    }
    failAll(closeReason);
    table.clear();
    closedSignal.resolve();
    void services.disconnect();
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
