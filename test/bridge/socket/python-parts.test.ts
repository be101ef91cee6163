/**
 * The app's half of its socket, piece by piece, in the same Python the suite runs apps with: the stdlib
 * msgpack against @msgpack/msgpack (what hypha-rpc JS uses) both ways, the WebSocket framing with and
 * without a mask key, the message_cache bookkeeping, and which calls the app may answer itself.
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { decodeMulti, encode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";

const LIB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../src/bridge/python/lib");
const python = process.env.HYPHA_CONDA_TEST_PYTHON ?? "python3";

function runPython(code: string, input?: Buffer): Buffer {
  return execFileSync(python, ["-c", code], { input, timeout: 30_000, env: { ...process.env, PYTHONPATH: LIB, PYTHONDONTWRITEBYTECODE: "1" } });
}

const SAMPLE = {
  type: "method", from: "ws-user-a/caller", n: [0, 1, 127, 128, 255, 256, 65535, 65536, -1, -32, -33, -129, -40000, 2 ** 32, -(2 ** 40), 2 ** 53 - 1],
  f: [0.5, -1e300, 3.25], s: ["", "é", "x".repeat(31), "y".repeat(32), "z".repeat(300), "w".repeat(70000)],
  b: [new Uint8Array([]), new Uint8Array([1, 2, 3]), new Uint8Array(300), new Uint8Array(70000)],
  nested: { a: [null, true, false, { deep: [[[]]] }], big: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i])) },
  list: Array.from({ length: 20 }, (_, i) => i),
};

describe("the app's socket, Python side", () => {
  it("decodes what hypha-rpc JS encodes and encodes what it decodes to the same values", () => {
    const frame = Buffer.concat([encode(SAMPLE), encode({ args: [1, "two"], promise: "*" })]);
    const out = runPython(`
import sys
from hypha_bridge.socket import msgpack_wire as m
parts = m.unpack_frame(sys.stdin.buffer.read())
sys.stdout.buffer.write(b"".join(m.pack(p) for p in parts))
`, frame);
    const parts = [...decodeMulti(new Uint8Array(out))];
    expect(parts).toEqual([SAMPLE, { args: [1, "two"], promise: "*" }]);
  });

  it("refuses what hypha-rpc frames never hold (ext types, truncated input) instead of guessing", () => {
    const out = runPython(`
from hypha_bridge.socket import msgpack_wire as m
for raw in (b"\\xd4\\x01\\x02", b"\\x92\\x01", b"\\xc4\\x05ab"):
    try:
        m.unpack_frame(raw)
        print("decoded")
    except ValueError:
        print("refused")
`).toString();
    expect(out.trim().split("\n")).toEqual(["refused", "refused", "refused"]);
  });

  it("frames messages of every length class, masked at random or with the zero key", () => {
    const out = runPython(`
import socket, struct, threading
from hypha_bridge.socket.websocket import WebSocket, BINARY

def unframe(data):
    b1 = data[1]; n = b1 & 0x7F; pos = 2
    if n == 126: n = struct.unpack(">H", data[2:4])[0]; pos = 4
    elif n == 127: n = struct.unpack(">Q", data[2:10])[0]; pos = 10
    assert b1 & 0x80, "client frames carry a mask bit"
    mask = data[pos:pos + 4]; body = data[pos + 4:pos + 4 + n]
    return mask, bytes(c ^ mask[i % 4] for i, c in enumerate(body)) if mask != b"\\0\\0\\0\\0" else body

for zero in (True, False):
    for size in (0, 5, 125, 126, 65535, 65536, 300000):
        a, b = socket.socketpair()
        ws = WebSocket(a, bytearray(), zero_mask=zero)
        payload = bytes(i % 251 for i in range(size))
        got = []
        def read():
            while True:
                chunk = b.recv(1 << 20)
                if not chunk: break
                got.append(chunk)
        reader = threading.Thread(target=read); reader.start()
        ws.send(payload, BINARY)
        a.shutdown(socket.SHUT_WR)
        reader.join()
        raw = b"".join(got)
        mask, body = unframe(raw)
        assert body == payload, (zero, size)
        assert (mask == b"\\0\\0\\0\\0") == zero or size == 0, (zero, size, mask)
        a.close(); b.close()
print("ok")
`).toString();
    expect(out.trim()).toBe("ok");
  });

  it("reads fragmented messages, answers pings and reports the server's close code", () => {
    const out = runPython(`
import socket, struct
from hypha_bridge.socket.websocket import WebSocket, TEXT, BINARY, CLOSE
a, b = socket.socketpair()
ws = WebSocket(a, bytearray(), zero_mask=True)
frames = bytes([0x02, 3]) + b"abc" + bytes([0x89, 2]) + b"hi" + bytes([0x80, 2]) + b"de" + bytes([0x81, 2]) + b"ok" + bytes([0x88, 4]) + struct.pack(">H", 1012) + b"rs"
b.sendall(frames)
print(ws.recv()); print(ws.recv()); print(ws.recv())
answers = b.recv(100)
print(answers[:8] == bytes([0x8A, 0x82, 0, 0, 0, 0]) + b"hi", answers[8:12] == bytes([0x88, 0x82, 0, 0]))  # the pong, then the close echoed
`).toString();
    expect(out.trim().split("\n")).toEqual(["(2, b'abcde')", "(1, b'ok')", "(8, (1012, 'rs'))", "True True"]);
  });

  it("keeps the pieces of calls addressed to the app and leaves replies to the worker's calls to the worker", () => {
    const out = runPython(`
from hypha_bridge.socket.chunks import IncomingCache
cache = IncomingCache()
print(cache.take("create", ["k1", False]))
print(cache.take("set", ["k1", 1, b"world"]))
print(cache.take("set", ["k1", 0, b"hello "]))
print(cache.take("process", ["k1", False]))
print(cache.take("process", ["k1", False]))
print(cache.take("create", ["session-of-worker", True]))
print(cache.take("set", ["unknown", 0, b"x"]))
for i in range(300): cache.take("create", ["e%d" % i, False])
print(cache.take("append", ["e0", b"x"]), cache.take("append", ["e299", b"x"]))
`).toString();
    expect(out.trim().split("\n")).toEqual([
      "(True, None)", "(True, None)", "(True, None)", "(True, b'hello world')", "(False, None)",
      "(False, None)", "(False, None)", "(False, None) (True, None)",
    ]);
  });

  it("calls a caller's message_cache as hypha-rpc does: the '*' promise with `t`, which Python's hypha_rpc needs to answer", () => {
    // Measured against hypha_rpc 0.21.46 on Hypha 0.21.135: without `t` its _expand_promise raises and it never answers.
    const out = runPython(`
from hypha_bridge.socket.chunks import Outgoing
from hypha_bridge.socket.msgpack_wire import unpack_frame
class Link:
    me = "ws-a/app"
    def __init__(self): self.sent = []
    def send_binary(self, data): self.sent.append(data)
link = Link()
outgoing = Outgoing(link)
answers = []
outgoing.call("ws-a/caller", "services.built-in.get_service", ["built-in"], lambda ok, value: answers.append((ok, value)))
main, extra = unpack_frame(link.sent[0])
print(sorted(main), main["method"], extra["promise"], extra["t"] > 0)
print(outgoing.settle({"method": main["session"] + ".heartbeat"}), answers)
print(outgoing.settle({"method": main["session"] + ".resolve", "args": [{"config": {"api_version": 3}}]}), answers)
print(outgoing.settle({"method": main["session"] + ".resolve", "args": [1]}))
`).toString();
    expect(out.trim().split("\n")).toEqual([
      "['from', 'method', 'session', 'to', 'type'] services.built-in.get_service * True",
      "True []",
      "True [(True, {'config': {'api_version': 3}})]",
      "False",
    ]);
  });

  it("answers in the app only the calls the worker's fast path would answer", () => {
    const out = runPython(`
from hypha_bridge.socket.fast import parse_call, is_plain
table = {"services.default.add": {"fn": "p1", "context": False, "protected": False},
         "services.secret.get": {"fn": "p2", "context": True, "protected": True}}
base = {"type": "method", "from": "ws-a/caller", "to": "ws-a/app", "method": "services.default.add", "session": "s1",
        "promise": "*", "args": [1, 2], "ctx": {"ws": "ws-a"}}
def check(label, **change):
    data = dict(base, **change)
    for key, value in list(change.items()):
        if value is None: del data[key]
    call = parse_call(data, table, "ws-a")
    print(label, None if call is None else (call[0]["fn"], call[1], sorted(call[2])))
check("plain")
check("no promise", promise=None, session=None)
check("callback promise", promise={"resolve": {}, "reject": {}})
check("encrypted", _enc={"pub": "x"})
check("encoded arg", args=[{"_rtype": "method", "_rtarget": "x"}])
check("unknown", method="services.default.other")
check("other workspace target", to="ws-b/app")
check("kwargs", args=[1, {"b": 2, "_rkwargs": True}], with_kwargs=True)
check("protected same ws", method="services.secret.get", args=[])
check("protected other ws", method="services.secret.get", args=[], **{"from": "ws-b/intruder", "to": "ws-a/app"})
print(is_plain({"a": [1, 2.5, None, b"x", (3,)]}), is_plain({1: 2}), is_plain({"_rtype": "x"}), is_plain(2 ** 70), is_plain(object()))
`).toString();
    expect(out.trim().split("\n")).toEqual([
      "plain ('p1', [1, 2], [])",
      "no promise ('p1', [1, 2], [])",
      "callback promise None",
      "encrypted None",
      "encoded arg None",
      "unknown None",
      "other workspace target None",
      "kwargs ('p1', [1], ['b'])",
      "protected same ws ('p2', [], ['context'])",
      "protected other ws None",
      "True False False False False",
    ]);
  });
});
