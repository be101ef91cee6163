/**
 * The worker side of the process-hop floor (bench/lib/pipe-floor.py): add(a, b) and echo(bytes) sent over
 * the bridge's own framing (dist/bridge/wire.js) on fd 3 to a minimal Python loop, answered by id.
 */
import path from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createWire } from "../../dist/bridge/wire.js";

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), "pipe-floor.py");

/** Starts the floor process; returns { add(a, b), echo(bytes), stop() }. */
export function startPipeFloor(python = process.env.BENCH_PYTHON ?? "python3") {
  const child = spawn(python, [SCRIPT], { stdio: ["ignore", "inherit", "inherit", "pipe"] });
  const pending = new Map();
  let nextId = 1;
  const wire = createWire(child.stdio[3], {
    onMessage: (message, blobs) => {
      const entry = pending.get(message.id);
      pending.delete(message.id);
      entry?.resolve(blobs.length > 0 ? blobs[0] : message.v);
    },
    onClose: () => {
      for (const entry of pending.values()) entry.reject(new Error("the pipe-floor process closed its channel"));
      pending.clear();
    },
  });
  const request = (args, blobs) => new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    wire.send({ t: "call", id, args }, blobs);
  });
  return {
    add: (a, b) => request([a, b]),
    echo: (value) => request([], [value]),
    stop: () => {
      wire.close();
      child.kill();
    },
  };
}
