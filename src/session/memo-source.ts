/**
 * A file source that remembers small files it already fetched (or is fetching), so the entry point,
 * environment.yml and lock read while resolving are downloaded once, also when prefetched concurrently,
 * and not a second time when staging.
 */
import type { AppFileSource } from "./types.js";

const MAX_MEMO_BYTES = 8 * 1024 * 1024;

export interface MemoSource extends AppFileSource {
  /** Starts reading these files at once (a missing one is remembered as missing); errors surface on readFile. */
  prefetch(relPaths: readonly string[]): void;
}

export function createMemoSource(source: AppFileSource): MemoSource {
  const memo = new Map<string, Promise<Buffer | undefined>>();
  let memoBytes = 0;
  const readFile = (relPath: string): Promise<Buffer | undefined> => {
    const held = memo.get(relPath);
    if (held) return held;
    const pending = source.readFile(relPath).then((data) => {
      const size = data?.byteLength ?? 0;
      // Too large to keep: later readers fetch it again instead of pinning it in memory.
      if (memoBytes + size > MAX_MEMO_BYTES) memo.delete(relPath);
      else memoBytes += size;
      return data;
    });
    memo.set(relPath, pending);
    return pending;
  };
  return {
    readFile,
    prefetch(relPaths) {
      // The rejection is kept in the memo for the real read; this copy only must not go unhandled.
      for (const relPath of relPaths) readFile(relPath).catch(() => undefined);
    },
    listFolder: (relPath) => source.listFolder(relPath),
  };
}
