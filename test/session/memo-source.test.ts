import { describe, expect, it } from "vitest";
import { createMemoSource } from "../../src/session/memo-source.js";
import type { AppFileSource } from "../../src/session/types.js";

/** A source whose reads stay pending until released, counting reads per path and the most in flight at once. */
function gatedSource(files: Record<string, string>) {
  const reads: Record<string, number> = {};
  const waiting: Array<() => void> = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const source: AppFileSource = {
    async readFile(relPath) {
      reads[relPath] = (reads[relPath] ?? 0) + 1;
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise<void>((resolve) => waiting.push(resolve));
      inFlight -= 1;
      if (relPath === "broken.txt") throw new Error("HTTP 500");
      return relPath in files ? Buffer.from(files[relPath]!) : undefined;
    },
    listFolder: async () => [],
  };
  const releaseAll = () => waiting.splice(0).forEach((resolve) => resolve());
  return { source, reads, releaseAll, maxInFlight: () => maxInFlight };
}

describe("createMemoSource", () => {
  it("prefetches files concurrently and fetches each once, a missing one included", async () => {
    const gated = gatedSource({ "main.py": "print(1)" });
    const memo = createMemoSource(gated.source);
    memo.prefetch(["main.py", "hypha-conda.lock.json", "environment.yml"]);
    expect(gated.maxInFlight()).toBe(3);
    const main = memo.readFile("main.py");
    const lock = memo.readFile("hypha-conda.lock.json");
    gated.releaseAll();
    expect((await main)?.toString()).toBe("print(1)");
    expect(await lock).toBeUndefined();
    expect(await memo.readFile("main.py")).toBeDefined();
    expect(gated.reads).toEqual({ "main.py": 1, "hypha-conda.lock.json": 1, "environment.yml": 1 });
  });

  it("keeps a prefetch's error for the read that needs the file, without an unhandled rejection", async () => {
    const gated = gatedSource({});
    const memo = createMemoSource(gated.source);
    memo.prefetch(["broken.txt"]);
    gated.releaseAll();
    await new Promise((resolve) => setImmediate(resolve));
    await expect(memo.readFile("broken.txt")).rejects.toThrow("HTTP 500");
    expect(gated.reads["broken.txt"]).toBe(1);
  });
});
