/**
 * The holder record next to a lock directory (`<lock>.json`): who holds the lock (pid, host, since, what it
 * is doing) and a second heartbeat in the file's content (`beat`, `heartbeatAt`), rewritten with every
 * refresh. A directory mtime read with stat can come from a network filesystem client's attribute cache;
 * a file's content is read fresh after open (NFS close-to-open), so waiters on other hosts see this one move.
 */
import { promises as fs } from "node:fs";

export interface LockHolder {
  pid: number;
  hostname: string;
  since: string;
  /** Counts the holder's refreshes (absent in records of older workers). */
  beat?: number;
  /** The last refresh, by the holder's clock. */
  heartbeatAt?: string;
  [key: string]: unknown;
}

/** The holder record sits next to the lock directory (proper-lockfile removes the directory with rmdir). */
export function lockHolderPath(lockPath: string): string {
  return `${lockPath}.json`;
}

/**
 * Who holds the lock, as its holder recorded (undefined when unknown). The holder rewrites the record in
 * place, so a read can land between truncate and write: such a torn read is retried a few times.
 */
export async function readLockHolder(lockPath: string): Promise<LockHolder | undefined> {
  for (let attempt = 0; ; attempt += 1) {
    let text: string;
    try {
      text = await fs.readFile(lockHolderPath(lockPath), "utf8");
    } catch {
      return undefined;
    }
    try {
      const parsed = JSON.parse(text) as LockHolder;
      return typeof parsed.pid === "number" && typeof parsed.hostname === "string" ? parsed : undefined;
    } catch {
      if (attempt >= 3) return undefined;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

/** Writes the record in place (same inode: readers on other hosts revalidate it on open). */
export async function writeLockHolder(lockPath: string, holder: LockHolder): Promise<void> {
  try {
    await fs.writeFile(lockHolderPath(lockPath), JSON.stringify(holder));
  } catch {
    // The record is informational, and its heartbeat only a second signal next to the directory's mtime.
  }
}
