/**
 * RPC frames: msgpack(main) immediately followed by msgpack(extra). The server rewrites only `main`
 * (from/to/ws/user) and forwards the extra bytes untouched.
 */
import { Decoder, encode } from "@msgpack/msgpack";

export interface MainMessage {
  type?: string;
  from?: string;
  to?: string;
  method?: string;
  session?: string;
  [key: string]: unknown;
}

export interface SplitFrame {
  main: MainMessage;
  /** The bytes after main (msgpack(extra)), possibly empty. */
  extra: Uint8Array;
}

/** Splits a binary frame into its decoded main message and the raw remainder. */
export function splitFrame(data: Uint8Array): SplitFrame {
  const decoder = new Decoder();
  const first = decoder.decodeMulti(data).next();
  if (first.done || typeof first.value !== "object" || first.value === null) {
    throw new Error("RPC frame does not start with a msgpack map");
  }
  // Decoder#pos is where the first object ended; it is runtime-public but not in the typings.
  const end = (decoder as unknown as { pos: number }).pos;
  return { main: first.value as MainMessage, extra: data.subarray(end) };
}

/** Joins a (rewritten) main message and the untouched extra bytes into one frame. */
export function joinFrame(main: MainMessage, extra: Uint8Array = new Uint8Array(0)): Uint8Array {
  const head = encode(main);
  const out = new Uint8Array(head.byteLength + extra.byteLength);
  out.set(head, 0);
  out.set(extra, head.byteLength);
  return out;
}
