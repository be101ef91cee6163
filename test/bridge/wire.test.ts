/** The bridge framing on its own: round trips, interleaving of large payloads, malformed input. */
import { Duplex, PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { BridgeError } from "../../src/errors.js";
import { createWire, encodeFrame, KIND_CHUNK, KIND_MSG, MAX_FRAME_BYTES, type WireMessage } from "../../src/bridge/wire.js";

function duplexPair(): [Duplex, Duplex] {
  const aToB = new PassThrough();
  const bToA = new PassThrough();
  const pair: [Duplex, Duplex] = [Duplex.from({ readable: bToA, writable: aToB }), Duplex.from({ readable: aToB, writable: bToA })];
  // Destroying one end (what the wire does on a corrupt channel) aborts the shared streams of the other.
  for (const end of pair) end.on("error", () => {});
  return pair;
}

function receiver(stream: Duplex) {
  const got: Array<{ message: WireMessage; blobs: Uint8Array[] }> = [];
  let closeError: BridgeError | undefined;
  let closed = false;
  const waiters: Array<() => void> = [];
  const wire = createWire(stream, {
    onMessage: (message, blobs) => {
      got.push({ message, blobs });
      waiters.splice(0).forEach((w) => w());
    },
    onClose: (error) => {
      closed = true;
      closeError = error;
      waiters.splice(0).forEach((w) => w());
    },
  });
  const until = async (check: () => boolean) => {
    while (!check()) await new Promise<void>((resolve) => waiters.push(resolve));
  };
  return { wire, got, until, get closeError() { return closeError; }, get closed() { return closed; } };
}

describe("bridge wire", () => {
  it("carries JSON messages and binary attachments in order", async () => {
    const [a, b] = duplexPair();
    const sender = receiver(a);
    const sink = receiver(b);
    const bytes = new Uint8Array([0, 1, 2, 255]);
    sender.wire.send({ t: "one", n: 1 });
    sender.wire.send({ t: "two", text: "héllo" }, [bytes, new Uint8Array(0)]);
    await sink.until(() => sink.got.length === 2);
    expect(sink.got[0]!.message).toEqual({ t: "one", n: 1 });
    expect(sink.got[1]!.message).toEqual({ t: "two", text: "héllo" });
    expect(Buffer.from(sink.got[1]!.blobs[0]!)).toEqual(Buffer.from(bytes));
    expect(sink.got[1]!.blobs[1]!.length).toBe(0);
  });

  it("lets a small message overtake a 50 MB attachment that is still being sent", async () => {
    const [a, b] = duplexPair();
    const sender = receiver(a);
    const sink = receiver(b);
    const big = new Uint8Array(50 * 1024 * 1024);
    big[big.length - 1] = 7;
    sender.wire.send({ t: "big" }, [big]);
    sender.wire.send({ t: "small" });
    await sink.until(() => sink.got.length === 2);
    expect(sink.got.map((g) => g.message.t)).toEqual(["small", "big"]);
    expect(sink.got[1]!.blobs[0]!.length).toBe(big.length);
    expect(sink.got[1]!.blobs[0]![big.length - 1]).toBe(7);
  });

  it("fails the channel with a clear error on an oversized frame length", async () => {
    const [a, b] = duplexPair();
    const sink = receiver(b);
    const header = Buffer.alloc(5);
    header.writeUInt32BE(MAX_FRAME_BYTES + 1, 0);
    a.write(header);
    await sink.until(() => sink.closed);
    expect(sink.closeError).toBeInstanceOf(BridgeError);
    expect(sink.closeError!.message).toMatch(/exceeds the limit/);
    expect(() => sink.wire.send({ t: "x" })).toThrow(/closed/);
  });

  it.each([
    ["invalid JSON", encodeFrame(KIND_MSG, Buffer.from("{not json")), /not valid JSON/],
    ["a JSON array", encodeFrame(KIND_MSG, Buffer.from("[1,2]")), /JSON object with a string 't'/],
    ["an unknown frame kind", encodeFrame(9, Buffer.from("{}")), /unknown bridge frame kind 9/],
    ["a chunk without blob id", encodeFrame(KIND_CHUNK, Buffer.from([1, 2])), /without a blob id/],
  ])("fails the channel, not the process, on %s", async (_name, frame, pattern) => {
    const [a, b] = duplexPair();
    const sink = receiver(b);
    a.write(frame);
    await sink.until(() => sink.closed);
    expect(sink.closeError?.code).toBe("E_BRIDGE");
    expect(sink.closeError?.message).toMatch(pattern);
  });

  it("refuses to send a JSON message larger than a frame", () => {
    const [a] = duplexPair();
    const sender = receiver(a);
    expect(() => sender.wire.send({ t: "huge", s: "x".repeat(MAX_FRAME_BYTES) })).toThrow(/too large/);
  });

  it("reports a clean end of stream without an error", async () => {
    const [a, b] = duplexPair();
    const sink = receiver(b);
    a.end();
    await sink.until(() => sink.closed);
    expect(sink.closeError).toBeUndefined();
  });
});
