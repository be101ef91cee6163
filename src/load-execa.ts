/** execa, loaded on first use: its ~100 modules cost ~110 ms at start-up, which a cache-hit `run` must not pay. */
import type { execa as ExecaFunction } from "execa";

export async function loadExeca(): Promise<typeof ExecaFunction> {
  return (await import("execa")).execa;
}
