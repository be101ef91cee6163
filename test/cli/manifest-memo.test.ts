import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { MANIFEST_MEMO_MAX_ENTRIES, isExactJson, manifestMemoDir, parseManifestText } from "../../src/cli/manifest-memo.js";

const dirs: string[] = [];
function memoDir(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), "hcw-memo-"));
  dirs.push(root);
  return manifestMemoDir(root);
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const entries = (dir: string) => readdirSync(dir).filter((name) => name.endsWith(".json"));

describe("parseManifestText", () => {
  it("parses YAML and remembers it under the text's hash; the next parse reads the memo", async () => {
    const dir = memoDir();
    const text = "type: conda-python\nid: memo\ndependencies:\n  - python\n";
    expect(await parseManifestText(text, dir)).toEqual({ type: "conda-python", id: "memo", dependencies: ["python"] });
    const [entry] = entries(dir);
    expect(entry).toMatch(/^[0-9a-f]{64}\.json$/);
    // Rewriting the entry proves the second call reads it instead of parsing the text again.
    writeFileSync(path.join(dir, entry!), JSON.stringify({ parsed: { from: "memo" } }));
    expect(await parseManifestText(text, dir)).toEqual({ from: "memo" });
  });

  it("keys by content: an edited manifest is a new entry, never a stale one", async () => {
    const dir = memoDir();
    expect(await parseManifestText("id: a\n", dir)).toEqual({ id: "a" });
    expect(await parseManifestText("id: b\n", dir)).toEqual({ id: "b" });
    expect(entries(dir)).toHaveLength(2);
  });

  it("does not memoise what JSON cannot hold exactly, and keeps parse errors the parser's", async () => {
    const dir = memoDir();
    expect(await parseManifestText("limit: .inf\n", dir)).toEqual({ limit: Number.POSITIVE_INFINITY });
    expect(() => readdirSync(dir)).toThrow();
    await expect(parseManifestText("a: 1\na: 2\n", dir)).rejects.toThrow(/unique/i);
  });

  it("parses without a memo directory, and ignores an unusable one", async () => {
    expect(await parseManifestText("id: x\n", undefined)).toEqual({ id: "x" });
    const root = mkdtempSync(path.join(os.tmpdir(), "hcw-memo-file-"));
    dirs.push(root);
    const notADir = path.join(root, "file");
    writeFileSync(notADir, "");
    expect(await parseManifestText("id: y\n", path.join(notADir, "memo"))).toEqual({ id: "y" });
  });

  it(`keeps at most ${MANIFEST_MEMO_MAX_ENTRIES} entries, dropping the oldest`, async () => {
    const dir = memoDir();
    await parseManifestText("id: oldest\n", dir);
    const [oldest] = entries(dir);
    utimesSync(path.join(dir, oldest!), new Date(0), new Date(0));
    for (let i = 0; i < MANIFEST_MEMO_MAX_ENTRIES; i += 1) await parseManifestText(`id: app-${i}\n`, dir);
    const left = entries(dir);
    expect(left).toHaveLength(MANIFEST_MEMO_MAX_ENTRIES);
    expect(left).not.toContain(oldest);
  });
});

describe("isExactJson", () => {
  it("accepts plain JSON values and refuses what JSON would change", () => {
    expect(isExactJson({ a: [1, "x", null, true, { b: 2.5 }] })).toBe(true);
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, -0, new Date(0), new Map(), undefined, 1n]) expect(isExactJson({ v: value })).toBe(false);
  });
});
