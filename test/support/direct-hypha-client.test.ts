/**
 * The direct client's msgpack subset (test/support/direct-hypha-client/direct_hypha/msgpack_lite.py)
 * against @msgpack/msgpack, the codec hypha-rpc JS and the test server use: both directions, every type
 * the RPC frames carry, and two objects back to back as in a Hypha frame.
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { decodeMulti, encode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";

const CLIENT_DIR = path.resolve("test/support/direct-hypha-client");
const SAMPLE = {
  type: "method", from: "ws-user-alice/_rapp_x__rlb", n: [0, 1, 127, 128, 255, 65_536, 2 ** 40, -1, -32, -33, -200, -70_000, -(2 ** 40)],
  pi: 3.25, ok: true, no: false, nothing: null, text: "é".repeat(40), long: "x".repeat(70_000), bytes: new Uint8Array([0, 1, 254, 255]),
  nested: { list: Array.from({ length: 20 }, (_, i) => ({ i })), empty: {} },
};

function python(code: string, input: Buffer): Buffer {
  return execFileSync("python3", ["-c", `import sys; sys.path.insert(0, ${JSON.stringify(CLIENT_DIR)})\n${code}`], { input });
}

describe("direct client msgpack subset", () => {
  it("decodes what @msgpack/msgpack encodes, two objects back to back", () => {
    const frame = Buffer.concat([encode(SAMPLE), encode({ args: [1, "two"], with_kwargs: true })]);
    const out = python(
      "import json, base64\nfrom direct_hypha.msgpack_lite import unpack_all\nitems = unpack_all(sys.stdin.buffer.read())\n" +
        "items[0]['bytes'] = base64.b64encode(items[0]['bytes']).decode()\nprint(json.dumps(items))",
      frame,
    );
    const [main, extra] = JSON.parse(out.toString()) as [Record<string, unknown>, unknown];
    expect({ ...main, bytes: Buffer.from(main.bytes as string, "base64") }).toEqual({ ...SAMPLE, bytes: Buffer.from(SAMPLE.bytes) });
    expect(extra).toEqual({ args: [1, "two"], with_kwargs: true });
  });

  it("encodes what @msgpack/msgpack decodes", () => {
    const out = python(
      "import json\nfrom direct_hypha.msgpack_lite import pack\nv = json.loads(sys.stdin.read())\nv['bytes'] = bytes([0, 1, 254, 255])\n" +
        "sys.stdout.buffer.write(pack(v) + pack({'args': [5]}))",
      Buffer.from(JSON.stringify({ ...SAMPLE, bytes: null })),
    );
    const [main, extra] = [...decodeMulti(out)] as [Record<string, unknown>, unknown];
    expect({ ...main, bytes: Uint8Array.from(main.bytes as Uint8Array) }).toEqual({ ...SAMPLE, bytes: new Uint8Array([0, 1, 254, 255]) });
    expect(extra).toEqual({ args: [5] });
  });
});
