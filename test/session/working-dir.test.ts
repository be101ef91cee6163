import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createWorkingDir, prepareWorkspaceDir, removeWorkingDir, safeSegment } from "../../src/session/working-dir.js";
import { makeTempRoot, type TempRoot } from "../support/session-doubles.js";

const roots: TempRoot[] = [];
afterEach(() => roots.splice(0).forEach((r) => r.cleanup()));

describe("working dirs", () => {
  it("sanitises ids into one safe segment", () => {
    expect(safeSegment("ws-user/_rapp_x__rlb")).toBe("ws-user__rapp_x__rlb");
    expect(safeSegment("..")).toBe("_");
    expect(safeSegment("../../etc")).toBe("__.._etc");
    expect(safeSegment("")).toBe("_");
  });

  it("creates a private, unique dir per session under its workspace and removes it", async () => {
    const root = makeTempRoot("hcw-wd-");
    roots.push(root);
    const a = await createWorkingDir(root.dir, "ws-1", "ws-1/client");
    const b = await createWorkingDir(root.dir, "ws-1", "ws-1/client");
    expect(a).not.toBe(b);
    expect(path.dirname(a)).toBe(path.join(root.dir, "ws-1"));
    expect(statSync(a).mode & 0o777).toBe(0o700);
    writeFileSync(path.join(a, "f.txt"), "x");
    await removeWorkingDir(root.dir, a);
    expect(existsSync(a)).toBe(false);
    expect(existsSync(b)).toBe(true);
    expect(await prepareWorkspaceDir(root.dir, "ws-1")).toBe(path.join(root.dir, "ws-1"));
  });

  it("refuses to remove anything outside the working root", async () => {
    const root = makeTempRoot("hcw-wd-");
    roots.push(root);
    const inside = path.join(root.dir, "work");
    mkdirSync(inside);
    const outside = path.join(root.dir, "other");
    mkdirSync(outside);
    await expect(removeWorkingDir(inside, outside)).rejects.toThrow(/not inside the working root/);
    await expect(removeWorkingDir(inside, inside)).rejects.toThrow(/not inside the working root/);
    expect(existsSync(outside)).toBe(true);
  });
});
