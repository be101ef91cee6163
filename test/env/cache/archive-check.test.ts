import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { Header } from "tar";
import { importEnv, inspectArchive } from "../../../src/env/cache/archive.js";
import { ARCHIVE_FORMAT, ARCHIVE_MANIFEST_NAME } from "../../../src/env/cache/archive-check.js";
import { currentSubdir } from "../../../src/env/spec/spec.js";
import type { EnvManager } from "../../../src/env/types.js";

const HASH = "ab".repeat(32);
const DIR = `tinylib-${HASH.slice(0, 16)}`;

interface FakeEntry {
  path: string;
  type?: "File" | "Directory" | "SymbolicLink" | "Link" | "CharacterDevice";
  body?: string;
  linkpath?: string;
}

/** Builds a gzip tar byte by byte, so hostile paths reach the archive exactly as written. */
function buildTarGz(entries: FakeEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? "");
    const type = e.type ?? "File";
    const header = new Header({
      path: e.path,
      type,
      mode: type === "Directory" ? 0o755 : 0o644,
      size: type === "File" ? body.length : 0,
      mtime: new Date(0),
      uid: 0,
      gid: 0,
      ...(e.linkpath ? { linkpath: e.linkpath } : {}),
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block);
    if (type === "File" && body.length > 0) {
      const padded = Buffer.alloc(Math.ceil(body.length / 512) * 512);
      body.copy(padded);
      blocks.push(padded);
    }
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

let work: string;
let cacheDir: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), "hcw-archive-check-"));
  cacheDir = join(work, "cache");
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

function manifestFor(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    format: ARCHIVE_FORMAT,
    formatVersion: 1,
    hash: HASH,
    dirName: DIR,
    cachePath: cacheDir,
    prefix: join(cacheDir, "envs", DIR),
    platform: currentSubdir(),
    exportedAt: new Date().toISOString(),
    workerVersion: "0.0.0",
    ...overrides,
  });
}

const goodEntries = (): FakeEntry[] => [
  { path: ARCHIVE_MANIFEST_NAME, body: manifestFor() },
  { path: `${DIR}/`, type: "Directory" },
  { path: `${DIR}/conda-meta/`, type: "Directory" },
  { path: `${DIR}/conda-meta/hypha-conda-worker.json`, body: "{}" },
  { path: `${DIR}/bin/python3.11`, body: "#!/bin/sh\n" },
  { path: `${DIR}/bin/python`, type: "SymbolicLink", linkpath: "python3.11" },
];

async function writeArchive(entries: FakeEntry[]): Promise<string> {
  const file = join(work, `a-${Math.random().toString(16).slice(2)}.tar.gz`);
  await writeFile(file, buildTarGz(entries));
  return file;
}

const managerDouble = (): EnvManager => ({ options: { cacheDir }, listEnvs: async () => [] }) as unknown as EnvManager;

describe("inspectArchive", () => {
  it("accepts a well-formed archive and returns its manifest", async () => {
    const { manifest, entryCount } = await inspectArchive(await writeArchive(goodEntries()));
    expect(manifest.hash).toBe(HASH);
    expect(manifest.dirName).toBe(DIR);
    expect(entryCount).toBe(6);
  });

  const hostile: Array<[string, FakeEntry, RegExp]> = [
    ["a ../ path", { path: `${DIR}/../../evil.txt`, body: "x" }, /contains '\.\.'/],
    ["an absolute path", { path: "/tmp/hcw-evil.txt", body: "x" }, /absolute path/],
    ["an entry beside the env folder", { path: "other/evil.txt", body: "x" }, /outside the env folder/],
    ["a relative symlink escaping the env", { path: `${DIR}/lib`, type: "SymbolicLink", linkpath: "../../../etc" }, /escapes the env/],
    ["an absolute symlink outside the env", { path: `${DIR}/etc`, type: "SymbolicLink", linkpath: "/etc" }, /outside the env/],
    ["a hard link outside the env", { path: `${DIR}/passwd`, type: "Link", linkpath: "../etc/passwd" }, /hard link/],
    ["a device node", { path: `${DIR}/dev`, type: "CharacterDevice" }, /CharacterDevice/],
  ];
  for (const [name, entry, message] of hostile) {
    it(`refuses ${name} before writing anything`, async () => {
      const file = await writeArchive([...goodEntries(), entry]);
      await expect(inspectArchive(file)).rejects.toMatchObject({ code: "E_PATH_ESCAPE", message: expect.stringMatching(message) });
      await expect(importEnv(managerDouble(), file)).rejects.toMatchObject({ code: "E_PATH_ESCAPE" });
      await expect(readdir(cacheDir)).rejects.toMatchObject({ code: "ENOENT" });
    });
  }

  it("refuses an entry written through a symlink the archive creates, even with external links allowed", async () => {
    const file = await writeArchive([
      ...goodEntries(),
      { path: `${DIR}/share`, type: "SymbolicLink", linkpath: work },
      { path: `${DIR}/share/planted.txt`, body: "x" },
    ]);
    await expect(inspectArchive(file, { allowExternalLinks: true })).rejects.toMatchObject({ code: "E_PATH_ESCAPE", message: expect.stringMatching(/through the symlink/) });
  });

  it("accepts an absolute symlink outside the env only with allowExternalLinks", async () => {
    const file = await writeArchive([...goodEntries(), { path: `${DIR}/bin/python3`, type: "SymbolicLink", linkpath: "/usr/bin/python3" }]);
    await expect(inspectArchive(file)).rejects.toMatchObject({ code: "E_PATH_ESCAPE", message: expect.stringMatching(/--allow-external-links/) });
    await expect(inspectArchive(file, { allowExternalLinks: true })).resolves.toMatchObject({ manifest: { hash: HASH } });
  });

  it("refuses an archive without a manifest, with a bad manifest, or without the env marker", async () => {
    const noManifest = await writeArchive(goodEntries().slice(1));
    await expect(inspectArchive(noManifest)).rejects.toMatchObject({ code: "E_ARCHIVE", message: expect.stringMatching(/no hypha-env-archive.json/) });
    const badDir = await writeArchive([{ path: ARCHIVE_MANIFEST_NAME, body: manifestFor({ dirName: "../x" }) }, ...goodEntries().slice(1)]);
    await expect(inspectArchive(badDir)).rejects.toMatchObject({ code: "E_ARCHIVE", message: expect.stringMatching(/invalid env directory name/) });
    const noMarker = await writeArchive(goodEntries().filter((e) => !e.path.endsWith("hypha-conda-worker.json")));
    await expect(inspectArchive(noMarker)).rejects.toMatchObject({ code: "E_ARCHIVE", message: expect.stringMatching(/no env marker/) });
  });

  it("refuses a file that is not a gzip tar", async () => {
    const file = join(work, "junk.tar.gz");
    await writeFile(file, "not an archive at all");
    await expect(inspectArchive(file)).rejects.toMatchObject({ code: "E_ARCHIVE" });
  });
});

describe("importEnv compatibility checks", () => {
  it("refuses an archive from another cache path, saying why and what to do, and writes nothing", async () => {
    const other = join(work, "other-cache");
    const file = await writeArchive([{ path: ARCHIVE_MANIFEST_NAME, body: manifestFor({ cachePath: other, prefix: join(other, "envs", DIR) }) }, ...goodEntries().slice(1)]);
    const error = await importEnv(managerDouble(), file).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "E_ARCHIVE" });
    expect((error as Error).message).toContain(`exported from cache ${other}`);
    expect((error as Error).message).toContain("not relocatable");
    expect((error as Error).message).toContain(`--cache-dir ${other}`);
    await expect(readdir(cacheDir)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("refuses an archive for another platform", async () => {
    const platform = currentSubdir() === "linux-64" ? "osx-arm64" : "linux-64";
    const file = await writeArchive([{ path: ARCHIVE_MANIFEST_NAME, body: manifestFor({ platform }) }, ...goodEntries().slice(1)]);
    await expect(importEnv(managerDouble(), file)).rejects.toMatchObject({ code: "E_ARCHIVE", message: expect.stringContaining(`holds a ${platform} env`) });
  });
});
