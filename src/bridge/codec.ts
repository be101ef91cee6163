/**
 * Value encoding between the worker and the Python app (see docs/bridge.md, "Values").
 * JSON trees whose tagged objects ({"__b": ...}) stand for bytes, function references, ndarrays and
 * non-finite floats; binary data travels as wire attachments, never base64. A function is owned by the
 * side that created it and lives in that side's table until the other side's proxy is garbage collected.
 */
import { BridgeError } from "../errors.js";

const MAX_DEPTH = 64;
/** Marks a JS proxy that stands for a Python function (so it is sent back as the same reference). */
export const PYTHON_REF = Symbol("hypha-conda-worker.pythonRef");

export interface FunctionRef {
  __b: "fn";
  id: string;
  params?: string[];
  name?: string;
  /** `__schema__` of a Python function (hypha_rpc.utils.schema), published with the service by hypha-rpc. */
  schema?: Record<string, unknown>;
}

type AnyFunction = (...args: unknown[]) => unknown;

export interface NdArrayValue {
  _rtype: "ndarray";
  _rvalue: Uint8Array;
  _rshape: number[];
  _rdtype: string;
}

const TYPED_ARRAY_DTYPES: Array<[new (...args: never[]) => ArrayBufferView, string]> = [
  [Float32Array, "float32"], [Float64Array, "float64"], [Int8Array, "int8"], [Int16Array, "int16"],
  [Int32Array, "int32"], [Uint16Array, "uint16"], [Uint32Array, "uint32"], [BigInt64Array, "int64"],
  [BigUint64Array, "uint64"],
];

/** Host-side functions the app may call, by id ("h1", "h2", ...). */
export class HostFunctionTable {
  private readonly byId = new Map<string, AnyFunction>();
  private counter = 0;

  add(fn: AnyFunction): string {
    const id = `h${++this.counter}`;
    this.byId.set(id, fn);
    return id;
  }
  get(id: string): AnyFunction | undefined {
    return this.byId.get(id);
  }
  release(ids: unknown[]): void {
    for (const id of ids) if (typeof id === "string") this.byId.delete(id);
  }
  get size(): number {
    return this.byId.size;
  }
  clear(): void {
    this.byId.clear();
  }
}

function toBytes(value: ArrayBufferView | ArrayBuffer): Uint8Array {
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

function concatChunks(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (Array.isArray(value)) return Buffer.concat(value.map((v) => concatChunks(v)));
  throw new BridgeError("E_BRIDGE", "ndarray _rvalue must be bytes (Uint8Array, ArrayBuffer, or a list of them)");
}

export class HostCodec {
  constructor(
    readonly table: HostFunctionTable,
    private readonly makeProxy: (ref: FunctionRef) => AnyFunction,
  ) {}

  /** Encodes a JS value for the app; binary parts are appended to `blobs`. */
  encode(value: unknown, blobs: Uint8Array[], depth = 0): unknown {
    if (depth > MAX_DEPTH) throw new BridgeError("E_BRIDGE", `value nested deeper than ${MAX_DEPTH} levels (or circular) cannot be sent to the app`);
    if (value === null || value === undefined) return null;
    switch (typeof value) {
      case "string":
      case "boolean":
        return value;
      case "number":
        if (Number.isFinite(value)) return value;
        return { __b: "float", v: Number.isNaN(value) ? "nan" : value > 0 ? "inf" : "-inf" };
      case "bigint":
        return Number(value);
      case "function": {
        const ref = (value as { [PYTHON_REF]?: FunctionRef })[PYTHON_REF];
        if (ref) return { __b: "fn", id: ref.id };
        return { __b: "fn", id: this.table.add(value as AnyFunction), name: (value as AnyFunction).name || "function" };
      }
      case "symbol":
        throw new BridgeError("E_BRIDGE", "a Symbol cannot be sent to the app");
      default:
        break;
    }
    if (value instanceof Uint8Array || value instanceof ArrayBuffer || value instanceof DataView) {
      blobs.push(toBytes(value));
      return { __b: "bytes", i: blobs.length - 1 };
    }
    if (ArrayBuffer.isView(value)) {
      const dtype = TYPED_ARRAY_DTYPES.find(([ctor]) => value instanceof ctor)?.[1] ?? "uint8";
      blobs.push(toBytes(value));
      const length = (value as unknown as { length: number }).length;
      return { __b: "nd", i: blobs.length - 1, shape: [length], dtype };
    }
    if (Array.isArray(value)) return value.map((v) => this.encode(v, blobs, depth + 1));
    if (value instanceof Date) return value.toISOString();
    if (value instanceof Error) return { name: value.name, message: value.message };
    const record = value as Record<string, unknown>;
    if (record._rtype === "ndarray") {
      blobs.push(concatChunks(record._rvalue));
      return { __b: "nd", i: blobs.length - 1, shape: record._rshape, dtype: record._rdtype };
    }
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(record)) {
      if (item === undefined) continue;
      out[key] = this.encode(item, blobs, depth + 1);
    }
    return "__b" in out ? { __b: "obj", v: out } : out;
  }

  /** Decodes a value from the app; Python functions become async JS functions. */
  decode(value: unknown, blobs: Uint8Array[]): unknown {
    if (Array.isArray(value)) return value.map((v) => this.decode(v, blobs));
    if (value === null || typeof value !== "object") return value;
    const record = value as Record<string, unknown>;
    const tag = record.__b;
    if (tag === undefined) {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(record)) out[key] = this.decode(item, blobs);
      return out;
    }
    switch (tag) {
      case "bytes":
        return this.blob(blobs, record.i);
      case "fn":
        if (typeof record.id !== "string") throw new BridgeError("E_BRIDGE", "function reference without an id from the app");
        if (record.id.startsWith("h")) {
          // One of ours coming back: hand out the original function, not a proxy of a proxy.
          const own = this.table.get(record.id);
          if (!own) throw new BridgeError("E_BRIDGE", `the app passed back function ${record.id}, which is no longer available`);
          return own;
        }
        return this.makeProxy(record as unknown as FunctionRef);
      case "nd": {
        const nd: NdArrayValue = { _rtype: "ndarray", _rvalue: this.blob(blobs, record.i), _rshape: record.shape as number[], _rdtype: String(record.dtype) };
        return nd;
      }
      case "float":
        return record.v === "nan" ? Number.NaN : String(record.v).startsWith("-") ? -Infinity : Infinity;
      case "obj": {
        // An escaped dict whose own keys include "__b": decode its entries, not the dict as a tag.
        const out: Record<string, unknown> = {};
        for (const [key, item] of Object.entries((record.v ?? {}) as Record<string, unknown>)) out[key] = this.decode(item, blobs);
        return out;
      }
      default:
        throw new BridgeError("E_BRIDGE", `unknown value tag ${JSON.stringify(tag)} from the app (runner and worker versions differ?)`);
    }
  }

  private blob(blobs: Uint8Array[], index: unknown): Uint8Array {
    const data = typeof index === "number" ? blobs[index] : undefined;
    if (!data) throw new BridgeError("E_BRIDGE", `value refers to attachment ${String(index)} which the message does not carry`);
    return data;
  }
}
