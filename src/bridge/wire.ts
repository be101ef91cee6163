/**
 * Framing on the private bridge channel (the child's fd 3). See docs/bridge.md.
 * Frame: u32 big-endian N, then N bytes = u8 kind + payload. Kind 1: UTF-8 JSON object (its "b" key lists
 * the blob ids sent before it). Kind 2: u32 blob id + raw bytes (one piece of a binary attachment).
 * Attachments travel in chunks; plain messages overtake pending chunks, so large payloads never block
 * small calls.
 */
import type { Duplex } from "node:stream";
import { BridgeError } from "../errors.js";

export const PROTOCOL_VERSION = 1;
export const KIND_MSG = 1;
export const KIND_CHUNK = 2;
export const CHUNK_BYTES = 1 << 20;
/** Largest frame accepted: JSON messages up to 64 MiB (binary data travels as 1 MiB chunks). */
export const MAX_FRAME_BYTES = (64 << 20) + 16;
/** Largest total of attachments received but not yet claimed by their message. */
export const MAX_PENDING_BLOB_BYTES = 2 ** 31 - 1;

export interface WireMessage {
  t: string;
  [key: string]: unknown;
}

export interface WireHandlers {
  onMessage(message: WireMessage, blobs: Uint8Array[]): void;
  /** Called once when the channel ends; `error` when it ended because of a protocol or I/O failure. */
  onClose(error?: BridgeError): void;
}

export interface Wire {
  send(message: WireMessage, blobs?: Uint8Array[]): void;
  readonly closed: boolean;
  /** Stops reading and writing and destroys the stream. */
  close(error?: BridgeError): void;
}

interface BulkItem {
  blobs: Array<{ id: number; data: Uint8Array; pos: number }>;
  final: Buffer;
}

/** Encodes one frame (exported for tests that forge malformed input). */
export function encodeFrame(kind: number, payload: Uint8Array): Buffer {
  const header = Buffer.allocUnsafe(5);
  header.writeUInt32BE(payload.length + 1, 0);
  header.writeUInt8(kind, 4);
  return Buffer.concat([header, payload]);
}

/** Attaches framing to a duplex stream. */
export function createWire(stream: Duplex, handlers: WireHandlers): Wire {
  const control: Buffer[] = [];
  const bulk: BulkItem[] = [];
  let nextBlobId = 1;
  let closed = false;
  let waitingDrain = false;

  const pieces: Buffer[] = [];
  let available = 0;
  const pendingBlobs = new Map<number, Buffer[]>();
  let pendingBlobBytes = 0;

  const finish = (error?: BridgeError, destroy = true) => {
    if (closed) return;
    closed = true;
    control.length = 0;
    bulk.length = 0;
    pendingBlobs.clear();
    if (error && destroy) stream.destroy();
    handlers.onClose(error);
  };

  const nextFrame = (): Buffer | Buffer[] | undefined => {
    const head = control.shift();
    if (head) return head;
    const item = bulk.shift();
    if (!item) return undefined;
    const blob = item.blobs[0];
    if (!blob) return item.final;
    const piece = blob.data.subarray(blob.pos, blob.pos + CHUNK_BYTES);
    blob.pos += piece.length;
    if (blob.pos >= blob.data.length) item.blobs.shift();
    bulk.push(item); // round-robin between attachments in flight
    const header = Buffer.allocUnsafe(9);
    header.writeUInt32BE(piece.length + 5, 0);
    header.writeUInt8(KIND_CHUNK, 4);
    header.writeUInt32BE(blob.id, 5);
    return [header, Buffer.from(piece.buffer, piece.byteOffset, piece.length)];
  };

  let corked = false;
  const pump = () => {
    if (waitingDrain) return;
    if (!corked) {
      // Coalesce the frames sent in one tick into one write (fewer system calls and reader wake-ups).
      corked = true;
      stream.cork();
      process.nextTick(() => {
        corked = false;
        stream.uncork();
      });
    }
    while (!closed) {
      const frame = nextFrame();
      if (!frame) return;
      let ok = true;
      if (Array.isArray(frame)) for (const part of frame) ok = stream.write(part) && ok;
      else ok = stream.write(frame);
      if (!ok) {
        waitingDrain = true;
        stream.once("drain", () => {
          waitingDrain = false;
          pump();
        });
        return;
      }
    }
  };

  const take = (n: number): Buffer => {
    // Concatenates exactly the bytes of one frame, once (no quadratic re-copying of large frames).
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const first = pieces[0]!;
      const need = n - filled;
      if (first.length <= need) {
        first.copy(out, filled);
        filled += first.length;
        pieces.shift();
      } else {
        first.copy(out, filled, 0, need);
        pieces[0] = first.subarray(need);
        filled += need;
      }
    }
    available -= n;
    return out;
  };

  const peekU32 = (): number => {
    const first = pieces[0]!;
    if (first.length >= 4) return first.readUInt32BE(0);
    const head = Buffer.concat(pieces.slice(0, 4)).subarray(0, 4);
    return head.readUInt32BE(0);
  };

  const handleFrame = (frame: Buffer) => {
    const kind = frame[0];
    if (kind === KIND_CHUNK) {
      if (frame.length < 5) throw new BridgeError("E_BRIDGE", "bridge chunk frame without a blob id (corrupt channel)");
      const id = frame.readUInt32BE(1);
      const data = frame.subarray(5);
      pendingBlobBytes += data.length;
      if (pendingBlobBytes > MAX_PENDING_BLOB_BYTES) {
        throw new BridgeError("E_BRIDGE", `bridge attachments exceed ${MAX_PENDING_BLOB_BYTES} bytes; send smaller payloads`);
      }
      const list = pendingBlobs.get(id);
      if (list) list.push(data);
      else pendingBlobs.set(id, [data]);
      return;
    }
    if (kind !== KIND_MSG) throw new BridgeError("E_BRIDGE", `unknown bridge frame kind ${String(kind)} (corrupt channel or runner from another version)`);
    let message: unknown;
    try {
      message = JSON.parse(frame.toString("utf8", 1));
    } catch (error) {
      throw new BridgeError("E_BRIDGE", `bridge message is not valid JSON: ${(error as Error).message}`, { cause: error });
    }
    if (typeof message !== "object" || message === null || Array.isArray(message) || typeof (message as WireMessage).t !== "string") {
      throw new BridgeError("E_BRIDGE", "bridge message is not a JSON object with a string 't' (message type)");
    }
    const msg = message as WireMessage;
    const ids = Array.isArray(msg.b) ? msg.b : [];
    delete msg.b;
    const blobs: Uint8Array[] = ids.map((id) => {
      const list = pendingBlobs.get(Number(id)) ?? [];
      pendingBlobs.delete(Number(id));
      const data = list.length === 1 ? list[0]! : Buffer.concat(list);
      pendingBlobBytes -= data.length;
      return data;
    });
    handlers.onMessage(msg, blobs);
  };

  stream.on("data", (chunk: Buffer) => {
    if (closed) return;
    pieces.push(chunk);
    available += chunk.length;
    try {
      while (available >= 4) {
        const size = peekU32();
        if (size < 1 || size > MAX_FRAME_BYTES) {
          throw new BridgeError("E_BRIDGE", `bridge frame of ${size} bytes exceeds the limit of ${MAX_FRAME_BYTES} (corrupt channel, or something other than the runner wrote to fd 3)`);
        }
        if (available < 4 + size) break;
        take(4);
        handleFrame(take(size));
        if (closed) return;
      }
    } catch (error) {
      finish(error instanceof BridgeError ? error : new BridgeError("E_BRIDGE", `bridge channel failed: ${(error as Error).message}`, { cause: error }));
    }
  });
  stream.on("error", (error) => finish(new BridgeError("E_BRIDGE", `bridge channel I/O failed: ${error.message}`, { cause: error })));
  stream.on("close", () => finish());
  stream.on("end", () => finish());

  return {
    get closed() {
      return closed;
    },
    send(message, blobs) {
      if (closed) throw new BridgeError("E_BRIDGE", "the bridge channel is closed (the app has stopped)");
      const json = Buffer.from(JSON.stringify(blobs && blobs.length > 0 ? { ...message, b: [] } : message), "utf8");
      if (json.length + 1 > MAX_FRAME_BYTES - 1024) {
        throw new BridgeError("E_BRIDGE", `bridge message of ${json.length} bytes is too large; pass large data as bytes (Uint8Array), which travel as chunks`);
      }
      if (!blobs || blobs.length === 0) {
        control.push(encodeFrame(KIND_MSG, json));
      } else {
        const ids = blobs.map(() => nextBlobId++);
        const final = encodeFrame(KIND_MSG, Buffer.from(JSON.stringify({ ...message, b: ids }), "utf8"));
        bulk.push({ blobs: blobs.map((data, i) => ({ id: ids[i]!, data, pos: 0 })).filter((b) => b.data.length > 0), final });
      }
      pump();
    },
    close(error) {
      if (closed) return;
      // What was already written (e.g. a "reject" before closing) still goes out: flush, then end.
      if (corked) {
        corked = false;
        stream.uncork();
      }
      finish(error, false);
      stream.end();
    },
  };
}
