import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createDirectoryFileSource } from "../../src/session/app-files.js";
import { parseStageEntry, stageAppFiles, writeConfined } from "../../src/session/staging.js";
import type { AppFileSource } from "../../src/session/types.js";
import { makeTempRoot, type TempRoot } from "../support/session-doubles.js";

const FIXTURE = path.resolve("fixtures/apps/staged-files");
const roots: TempRoot[] = [];
afterEach(() => roots.splice(0).forEach((r) => r.cleanup()));

function workDir(): { root: TempRoot; work: string } {
  const root = makeTempRoot("hcw-stage-");
  roots.push(root);
  const work = path.join(root.dir, "work");
  mkdirSync(work);
  return { root, work };
}

function listTree(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(path.relative(dir, path.join(entry.parentPath, entry.name)));
  }
  return out.sort();
}

describe("parseStageEntry", () => {
  it("understands the four forms", () => {
    expect(parseStageEntry("f.txt")).toEqual({ source: "f.txt", destination: "f.txt", folder: false });
    expect(parseStageEntry("dir/")).toEqual({ source: "dir/", destination: "dir/", folder: true });
    expect(parseStageEntry("a/b.txt:c.txt")).toEqual({ source: "a/b.txt", destination: "c.txt", folder: false });
    expect(parseStageEntry("dir/:dst/")).toEqual({ source: "dir/", destination: "dst/", folder: true });
    expect(parseStageEntry("a/b.txt:out/")).toEqual({ source: "a/b.txt", destination: "out/b.txt", folder: false });
  });

  it("refuses traversal, absolute paths, NUL and odd forms", () => {
    for (const bad of ["../x", "x:../y", "/etc/passwd", "f:/tmp/evil", "a/../../b", "a\0b", "a:b:c", "", "x:", 42]) {
      expect(() => parseStageEntry(bad), JSON.stringify(bad)).toThrow(/Refusing|must be strings|more than one/);
    }
  });
});

describe("stageAppFiles", () => {
  it("stages the entry point, a file, a renamed file and a folder of the fixture app", async () => {
    const { work } = workDir();
    const staged = await stageAppFiles({
      source: createDirectoryFileSource(FIXTURE),
      workDir: work,
      entryPoint: "main.py",
      filesToStage: ["config.json", "data/raw-notes.txt:notes.txt", "assets/"],
    });
    expect(listTree(work)).toEqual(["assets/icons/dot.txt", "assets/readme.txt", "config.json", "main.py", "notes.txt"]);
    expect(readFileSync(path.join(work, "notes.txt"), "utf8")).toBe(readFileSync(path.join(FIXTURE, "data/raw-notes.txt"), "utf8"));
    expect(staged.map((s) => s.destination).sort()).toEqual(["assets/icons/dot.txt", "assets/readme.txt", "config.json", "main.py", "notes.txt"]);
  });

  it("moves a folder to a new destination", async () => {
    const { work } = workDir();
    await stageAppFiles({ source: createDirectoryFileSource(FIXTURE), workDir: work, entryPoint: "main.py", filesToStage: ["assets/:static/"] });
    expect(listTree(work)).toEqual(["main.py", "static/icons/dot.txt", "static/readme.txt"]);
  });

  it("refuses a traversal attempt before writing anything, inside or outside", async () => {
    const { root, work } = workDir();
    for (const bad of ["config.json:../escaped.json", "/etc/hostname", "assets/:../../out/"]) {
      await expect(
        stageAppFiles({ source: createDirectoryFileSource(FIXTURE), workDir: work, entryPoint: "main.py", filesToStage: ["config.json", bad] }),
      ).rejects.toThrow(/Refusing/);
    }
    expect(listTree(root.dir)).toEqual([]);
  });

  it("refuses a listing that names a parent folder", async () => {
    const { root, work } = workDir();
    const source: AppFileSource = {
      readFile: async () => Buffer.from("x"),
      listFolder: async () => [{ name: "..", type: "file" }],
    };
    await expect(stageAppFiles({ source, workDir: work, entryPoint: "main.py", filesToStage: ["dir/"] })).rejects.toThrow(/Refusing/);
    expect(listTree(root.dir)).toEqual(["work/main.py"]);
  });

  it("fails clearly when the entry point or a staged file is missing", async () => {
    const { work } = workDir();
    const source = createDirectoryFileSource(FIXTURE);
    await expect(stageAppFiles({ source, workDir: work, entryPoint: "nope.py", filesToStage: [] })).rejects.toThrow(/entry point "nope.py" is not among/);
    await expect(stageAppFiles({ source, workDir: work, entryPoint: "main.py", filesToStage: ["ghost.txt"] })).rejects.toThrow(/"ghost.txt", which is not among/);
  });

  it("enforces file-count and size limits", async () => {
    const { work } = workDir();
    const source = createDirectoryFileSource(FIXTURE);
    await expect(stageAppFiles({ source, workDir: work, entryPoint: "main.py", filesToStage: ["assets/"], limits: { maxFiles: 2 } })).rejects.toThrow(/stopped at 2 files/);
    await expect(stageAppFiles({ source, workDir: work, entryPoint: "main.py", filesToStage: [], limits: { maxTotalBytes: 10 } })).rejects.toThrow(/exceed 10 bytes/);
  });
});

describe("writeConfined", () => {
  it("never follows a symlink planted in the working dir", async () => {
    const { root, work } = workDir();
    const outside = path.join(root.dir, "outside");
    mkdirSync(outside);
    symlinkSync(outside, path.join(work, "linkdir"));
    writeFileSync(path.join(outside, "target.txt"), "original");
    symlinkSync(path.join(outside, "target.txt"), path.join(work, "linkfile"));
    await expect(writeConfined(work, "linkdir/x.txt", Buffer.from("evil"))).rejects.toThrow(/not a plain folder/);
    await expect(writeConfined(work, "linkfile", Buffer.from("evil"))).rejects.toThrow(/cannot be written as a plain file/);
    expect(existsSync(path.join(outside, "x.txt"))).toBe(false);
    expect(readFileSync(path.join(outside, "target.txt"), "utf8")).toBe("original");
  });
});
