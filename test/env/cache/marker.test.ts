import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { markerPath, readLastUsed, readMarker, touchLastUsed, writeMarker, type EnvMarker } from "../../../src/env/cache/marker.js";

let prefix: string;
let marker: EnvMarker;
beforeEach(async () => {
  prefix = await fs.mkdtemp(path.join(os.tmpdir(), "hcw-marker-"));
  await fs.mkdir(path.join(prefix, "conda-meta"));
  marker = {
    format: 1,
    hash: "b".repeat(64),
    spec: { schema: 1, channels: ["c"], conda: ["python"], pip: [], variables: {}, subdir: "linux-64" },
    prefix,
    createdAt: "2026-01-01T00:00:00.000Z",
    packageManager: { name: "conda", version: "25.11.1", path: "/c" },
    activation: { CONDA_PREFIX: prefix },
    sizeBytes: 5,
  };
});
afterEach(async () => {
  await fs.rm(prefix, { recursive: true, force: true });
});

describe("marker", () => {
  it("round-trips and leaves no temp file", async () => {
    await writeMarker(marker);
    expect(await readMarker(prefix)).toEqual(marker);
    expect(await fs.readdir(path.join(prefix, "conda-meta"))).toEqual(["hypha-conda-worker.json"]);
  });

  it.each([
    ["torn JSON", (text: string) => text.slice(0, 20)],
    ["wrong format", (text: string) => text.replace('"format": 1', '"format": 99')],
    ["bad hash", (text: string) => text.replace("b".repeat(64), "zz")],
    ["another prefix (copied env)", (text: string) => text.split(prefix).join("/elsewhere")],
    ["activation not strings", (text: string) => text.replace(/"activation": \{[^}]*\}/, '"activation": {"A": 1}')],
  ])("rejects %s", async (_name, mutate) => {
    await writeMarker(marker);
    const file = markerPath(prefix);
    await fs.writeFile(file, mutate(await fs.readFile(file, "utf8")));
    expect(await readMarker(prefix)).toBeUndefined();
  });

  it("is absent for a prefix without one", async () => {
    expect(await readMarker(path.join(prefix, "nothing"))).toBeUndefined();
  });

  it("tracks last use by touching a file", async () => {
    await writeMarker(marker);
    expect((await readLastUsed(prefix, marker)).toISOString()).toBe(marker.createdAt);
    const when = new Date("2026-02-03T04:05:06.000Z");
    await touchLastUsed(prefix, when);
    expect((await readLastUsed(prefix, marker)).getTime()).toBe(when.getTime());
  });
});
