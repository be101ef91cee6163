/**
 * A file source that remembers small files it already fetched, so the entry point and environment.yml
 * read while resolving are not downloaded a second time when staging.
 */
import type { AppFileSource } from "./types.js";

const MAX_MEMO_BYTES = 8 * 1024 * 1024;

export function createMemoSource(source: AppFileSource): AppFileSource {
  const memo = new Map<string, Buffer | undefined>();
  let memoBytes = 0;
  return {
    async readFile(relPath) {
      if (memo.has(relPath)) return memo.get(relPath);
      const data = await source.readFile(relPath);
      const size = data?.byteLength ?? 0;
      if (memoBytes + size <= MAX_MEMO_BYTES) {
        memo.set(relPath, data);
        memoBytes += size;
      }
      return data;
    },
    listFolder: (relPath) => source.listFolder(relPath),
  };
}
