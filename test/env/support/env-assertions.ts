/** Assertions shared by the ensure-env tests. */
import { promises as fs } from "node:fs";
import { expect } from "vitest";
import { readInvocationLog } from "../../support/fake-pm.js";
import { cacheLayout, envLockPath } from "../../../src/env/cache/cache-layout.js";
import { isLocked } from "../../../src/env/cache/lock.js";
import { WorkerError } from "../../../src/errors.js";
import type { TestCache } from "./env-fixtures.js";

/** The create invocations the fake logged. */
export const createsIn = (log: string) => readInvocationLog(log).filter((i) => i.argv.includes("create"));

/** No env directory, no held lock for `hash`, and `prefix` (when given) gone. */
export async function expectNothingCached(cache: TestCache, hash: string, prefix?: string): Promise<void> {
  const layout = cacheLayout(cache.cacheDir);
  expect(await isLocked(envLockPath(layout, hash))).toBe(false);
  if (prefix) await expect(fs.access(prefix)).rejects.toThrow();
  expect(await fs.readdir(layout.envsDir).catch(() => [])).toEqual([]);
}

/** The WorkerError `p` rejects with (fails the test when it resolves). */
export async function catchError(p: Promise<unknown>): Promise<WorkerError> {
  try {
    await p;
  } catch (error) {
    expect(error).toBeInstanceOf(WorkerError);
    return error as WorkerError;
  }
  throw new Error("expected a rejection");
}
