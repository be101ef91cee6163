/**
 * The app's Python functions as JS functions: proxies that call into the app, keyword-name reporting for
 * hypha-rpc, caller context for require_context services, and release of garbage-collected proxies.
 */
import { HostCodec, HostFunctionTable, PYTHON_REF, type FunctionRef } from "./codec.js";
import type { WireMessage } from "./wire.js";

export type AnyFunction = (...args: unknown[]) => unknown;
export interface PythonError { type?: string; message?: string; traceback?: string }

/** A JS Error that carries the Python exception's type, message and traceback (hypha-rpc sends name, message and stack). */
export function pythonError(e: PythonError | undefined): Error {
  const type = e?.type || "Exception";
  const error = new Error(e?.message ?? "the app's function failed");
  error.name = type;
  error.stack = e?.traceback ? `${type}: ${error.message}\n${e.traceback}` : `${type}: ${error.message}`;
  return error;
}

export interface PythonFunctionDeps {
  /** Sends a request to the app and resolves with its decoded answer. */
  request(message: WireMessage, blobs: Uint8Array[]): Promise<unknown>;
  /** Tells the app that the worker dropped its last reference to function `id`. */
  release(id: string): void;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class PythonFunctions {
  readonly table = new HostFunctionTable();
  readonly codec: HostCodec;
  private readonly released: FinalizationRegistry<string>;
  private readonly takesContext = new WeakMap<AnyFunction, boolean>();

  constructor(private readonly deps: PythonFunctionDeps) {
    this.released = new FinalizationRegistry<string>((id) => deps.release(id));
    this.codec = new HostCodec(this.table, (ref) => this.proxy(ref));
  }

  /** Calls Python function `ref` with positional `args` (and keyword `kwargs`). */
  call(ref: FunctionRef, args: unknown[], kwargs?: Record<string, unknown>): Promise<unknown> {
    const blobs: Uint8Array[] = [];
    const message: WireMessage = { t: "call", fn: ref.id, args: this.codec.encode(args, blobs) };
    if (kwargs) message.kw = this.codec.encode(kwargs, blobs);
    return this.deps.request(message, blobs);
  }

  /**
   * Calls `fn` directly when it is one of this table's proxies (the fast call path), with real keyword
   * arguments; `context` goes as `context=` to a require_context function. Undefined for other functions.
   */
  callProxy(fn: AnyFunction, args: unknown[], kwargs: Record<string, unknown> | undefined, context: Record<string, unknown> | undefined): Promise<unknown> | undefined {
    const ref = (fn as { [PYTHON_REF]?: FunctionRef })[PYTHON_REF];
    const takesContext = this.takesContext.get(fn);
    if (!ref || takesContext === undefined) return undefined;
    return this.call(ref, args, takesContext && context !== undefined ? { ...kwargs, context } : kwargs);
  }

  /** The Python function behind proxy `fn` (its id) and whether it takes `context=`; undefined for other functions. */
  describeProxy(fn: AnyFunction): { id: string; takesContext: boolean } | undefined {
    const ref = (fn as { [PYTHON_REF]?: FunctionRef })[PYTHON_REF];
    const takesContext = this.takesContext.get(fn);
    return ref && takesContext !== undefined ? { id: ref.id, takesContext } : undefined;
  }

  /** A JS function that calls the Python function `ref`; with `takesContext` the last argument goes as `context=`. */
  proxy(ref: FunctionRef, takesContext = false): AnyFunction {
    const proxy = takesContext
      ? (...args: unknown[]) => {
          const context = args.pop();
          return this.call(ref, args, { context });
        }
      : (...args: unknown[]) => this.call(ref, args);
    Object.defineProperty(proxy, PYTHON_REF, { value: ref });
    this.takesContext.set(proxy, takesContext);
    // hypha-rpc maps keyword arguments onto parameter names parsed from toString(): give it Python's.
    const params = [...(ref.params ?? []).filter((p) => IDENTIFIER.test(p)), ...(takesContext ? ["context"] : [])];
    Object.defineProperty(proxy, "toString", { value: () => `function (${params.join(", ")}) {}` });
    Object.defineProperty(proxy, "name", { value: ref.name ?? "python_function" });
    if (ref.schema && typeof ref.schema === "object") Object.assign(proxy, { __schema__: ref.schema });
    this.released.register(proxy, ref.id, proxy);
    return proxy;
  }

  /**
   * Rebuilds the app's service so that require_context functions hand the caller context to Python as
   * `context=`. `require_context` may be true (every function) or a list of top-level names, as in hypha-rpc.
   */
  withContext(service: Record<string, unknown>): Record<string, unknown> {
    const wanted = (service.config as Record<string, unknown> | undefined)?.require_context;
    if (!wanted) return service;
    const selected = Array.isArray(wanted) ? (name: string) => wanted.includes(name) : () => true;
    return this.rebuild(service, selected, true) as Record<string, unknown>;
  }

  private rebuild(value: unknown, selected: (name: string) => boolean, top: boolean): unknown {
    if (!value || typeof value !== "object" || Array.isArray(value)) return value;
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => {
        if (key === "config" || (top && !selected(key))) return [key, item];
        const ref = typeof item === "function" ? (item as { [PYTHON_REF]?: FunctionRef })[PYTHON_REF] : undefined;
        if (ref) {
          this.released.unregister(item as AnyFunction); // the context-taking proxy below owns the release now
          return [key, this.proxy(ref, true)];
        }
        return [key, this.rebuild(item, selected, false)];
      }),
    );
  }
}
