/**
 * Regression for a race the 200-session loop found: one session's lease release removes the (empty)
 * leases/<hash> directory while another session's acquire is between mkdir and writing its record,
 * which failed that start with "ENOENT: ... mkdir leases/<hash>".
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import { cacheLayout } from "../../src/env/cache/cache-layout.js";
import { acquireLease } from "../../src/env/cache/lease.js";

const root = mkdtempSync(path.join(os.tmpdir(), "hcw-rel-lease-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

it("an acquire racing the last holder's release never fails (2,000 rounds)", async () => {
  const layout = cacheLayout(root);
  const hash = "ab".repeat(32);
  let failures = 0;
  let held = await acquireLease(layout, hash, "holder-0");
  for (let round = 1; round <= 2000; round += 1) {
    // The only holder leaves (its release removes the then-empty directory) while the next one arrives.
    const [released, next] = await Promise.allSettled([held.release(), acquireLease(layout, hash, `holder-${round}`)]);
    if (released.status === "rejected") failures += 1;
    if (next.status === "rejected") {
      failures += 1;
      held = await acquireLease(layout, hash, `holder-${round}-again`);
    } else held = next.value;
  }
  await held.release();
  expect(failures).toBe(0);
  let left: string[] = [];
  try {
    left = readdirSync(path.join(layout.leasesDir, hash));
  } catch {
    left = [];
  }
  expect(left).toEqual([]);
});
