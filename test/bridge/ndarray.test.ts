/**
 * ndarray values in hypha-rpc's encoding ({_rtype: "ndarray", _rvalue, _rshape, _rdtype}). The machine has no
 * numpy, so the app runs with a minimal stand-in `numpy` module on PYTHONPATH exposing the few members the
 * bridge uses (ndarray, generic, frombuffer, ascontiguousarray); with real numpy the same code paths run.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startApp, type RunningApp } from "./helpers.js";

const FAKE_NUMPY = `
class generic(object):
    pass

class ndarray(object):
    def __init__(self, data, dtype, shape):
        self._data, self.dtype, self.shape = bytes(data), dtype, tuple(shape)
    def tobytes(self):
        return self._data
    def reshape(self, shape):
        return ndarray(self._data, self.dtype, shape)
    def copy(self):
        return ndarray(self._data, self.dtype, self.shape)

def frombuffer(data, dtype):
    return ndarray(data, dtype, (len(data),))

def ascontiguousarray(a):
    return a
`;

const APP = `
import os
import numpy
from hypha_rpc.sync import connect_to_server
server = connect_to_server({"workspace": os.environ["HYPHA_WORKSPACE"]})
def describe(a):
    return [type(a).__name__, list(a.shape), str(a.dtype), a.tobytes()]
def make():
    return numpy.ndarray(b"\\x01\\x00\\x00\\x00\\x02\\x00\\x00\\x00", "int32", (2, 1))
server.register_service({"id": "default", "describe": describe, "make": make})
`;

let site: string;
let app: RunningApp;
beforeAll(async () => {
  site = mkdtempSync(join(tmpdir(), "bridge-numpy-"));
  mkdirSync(join(site, "numpy"));
  writeFileSync(join(site, "numpy", "__init__.py"), FAKE_NUMPY);
  app = startApp(APP, { env: { PYTHONPATH: site } });
  await app.host.waitForService("default", 10_000);
});
afterAll(async () => {
  await app.stop();
  rmSync(site, { recursive: true, force: true });
});

describe("ndarray values", () => {
  it("decodes hypha-rpc's ndarray encoding into a numpy array in the app", async () => {
    const nd = { _rtype: "ndarray", _rvalue: new Uint8Array([1, 2, 3, 4, 5, 6]), _rshape: [2, 3], _rdtype: "uint8" };
    expect(await app.host.callService("default", "describe", [nd])).toEqual(["ndarray", [2, 3], "uint8", Buffer.from([1, 2, 3, 4, 5, 6])]);
  });

  it("sends JS typed arrays as 1-D arrays of their dtype", async () => {
    const values = new Float32Array([1.5, -2]);
    const [kind, shape, dtype, bytes] = (await app.host.callService("default", "describe", [values])) as [string, number[], string, Uint8Array];
    expect([kind, shape, dtype]).toEqual(["ndarray", [2], "float32"]);
    expect(Array.from(new Float32Array(new Uint8Array(bytes).buffer))).toEqual([1.5, -2]);
  });

  it("encodes numpy arrays from the app in hypha-rpc's ndarray form", async () => {
    const result = (await app.host.callService("default", "make", [])) as Record<string, unknown>;
    expect(result).toEqual({ _rtype: "ndarray", _rvalue: Buffer.from([1, 0, 0, 0, 2, 0, 0, 0]), _rshape: [2, 1], _rdtype: "int32" });
  });
});
