import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { prewarmEnvs } from "../../../src/env/operator/prewarm.js";
import type { ProgressEvent } from "../../../src/progress.js";
import type { EnvManager, EnvResult, EnvSpec } from "../../../src/env/types.js";
import { app, creates, envFile, makeSandbox, type Sandbox } from "../../cli/operator-sandbox.js";

let box: Sandbox;
beforeEach(async () => {
  box = await makeSandbox();
});
afterEach(async () => {
  await box.cleanup();
});

describe("prewarmEnvs with the fake micromamba (or the real tool)", () => {
  it("builds each distinct spec once, then confirms them all without any package-manager process", async () => {
    const sources = [app("tiny"), app("tiny-copy"), envFile()];
    const events = new Map<string, ProgressEvent[]>();
    const first = await prewarmEnvs(sources, box.manager(), {
      concurrency: 2,
      specOptions: box.options,
      onProgress: (source, event) => events.set(source, [...(events.get(source) ?? []), event]),
    });
    expect(first.map((r) => r.status)).toEqual(["created", "created", "created"]);
    // tiny and tiny-copy spell the same spec differently: one hash, one prefix, one create.
    expect(first[1]!.hash).toBe(first[0]!.hash);
    expect(first[1]!.prefix).toBe(first[0]!.prefix);
    expect(first[2]!.hash).not.toBe(first[0]!.hash);
    if (box.isFake) expect(creates(box.invocations())).toHaveLength(2);
    for (const r of first) expect(r.packageManager).toMatchObject({ name: box.target.name, path: box.options.packageManager });
    for (const source of sources) expect(events.get(source)?.at(-1)).toMatchObject({ phase: "done", type: "success" });

    const before = box.invocations().length;
    const second = await prewarmEnvs(sources, box.manager(), { concurrency: 2, specOptions: box.options });
    expect(second.map((r) => r.status)).toEqual(["cached", "cached", "cached"]);
    expect(second.map((r) => r.prefix)).toEqual(first.map((r) => r.prefix));
    // A hit consults no package manager at all, yet the result still names the tool that built the env.
    if (box.isFake) expect(box.invocations()).toHaveLength(before);
    for (const r of second) expect(r.packageManager).toMatchObject({ name: box.target.name, version: first[0]!.packageManager!.version });
  });

  it("reports a failing source as failed with the reason, and still builds the others", async () => {
    const results = await prewarmEnvs([app("missing"), app("badspec"), app("jsonapp"), `${box.dir}/nowhere`], box.manager(), {
      concurrency: 2,
      specOptions: box.options,
    });
    expect(results.map((r) => r.status)).toEqual(["failed", "failed", "created", "failed"]);
    expect(results[0]).toMatchObject({ errorCode: "E_ENV_CREATE", prefix: null, hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(results[0]!.error).toContain("doesnotexist");
    expect(results[1]).toMatchObject({ errorCode: "E_MANIFEST", hash: null, prefix: null });
    expect(results[1]!.error).toContain("tinylib; rm -rf /");
    expect(results[3]).toMatchObject({ errorCode: "E_MANIFEST" });
    // The failed create left nothing behind: only the good env is cached.
    expect((await box.manager().listEnvs()).map((e) => e.hash)).toEqual([results[2]!.hash]);
  });

  it("keeps the envs of this run from being evicted by its own later creates (--cache-max-envs)", async () => {
    const options = { ...box.options, cacheMaxEnvs: 1 };
    const { createEnvManager } = await import("../../../src/env/env-manager.js");
    const manager = createEnvManager(options, { env: box.env });
    const results = await prewarmEnvs([app("tiny"), envFile()], manager, { concurrency: 1, specOptions: options });
    expect(results.map((r) => r.status)).toEqual(["created", "created"]);
    // Both are still there after the run (the first was leased while the second's create ran its eviction)...
    expect((await manager.listEnvs()).map((e) => e.hash).sort()).toEqual(results.map((r) => r.hash).sort());
    // ...and the leases are gone afterwards, so the next gc applies the limit.
    expect((await manager.listEnvs()).every((e) => !e.inUse)).toBe(true);
    expect(await manager.gc()).toHaveLength(1);
  });
});

/** A manager double that records how many ensureEnv calls run at once; each call waits until `limit` are in flight. */
function concurrencyProbe(limit: number, total: number): { manager: EnvManager; maxInFlight: () => number } {
  let inFlight = 0;
  let max = 0;
  let started = 0;
  let waiters: Array<() => void> = [];
  const manager = {
    async ensureEnv(spec: EnvSpec): Promise<EnvResult> {
      inFlight += 1;
      started += 1;
      max = Math.max(max, inFlight);
      // Release the batch once it is full (or no more calls can come); a pool that under-uses its limit hangs here.
      if (inFlight === limit || started === total) {
        for (const w of waiters) w();
        waiters = [];
      } else {
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
      await new Promise((resolve) => setImmediate(resolve));
      inFlight -= 1;
      const hash = spec.conda.join(",");
      return { hash, prefix: `/envs/${hash}`, pythonPath: "/bin/python", activation: {}, status: "created", seconds: 0 };
    },
    acquireLease: async (hash: string) => ({ hash, release: async () => undefined }),
  } as unknown as EnvManager;
  return { manager, maxInFlight: () => max };
}

describe("prewarmEnvs concurrency", () => {
  const sources = () => [app("tiny"), app("envfile"), app("jsonapp"), envFile()];

  for (const limit of [1, 2, 4]) {
    it(`runs at most ${limit} ensure(s) at once and reaches that limit`, async () => {
      const probe = concurrencyProbe(limit, sources().length);
      const results = await prewarmEnvs(sources(), probe.manager, { concurrency: limit, specOptions: box.options });
      expect(results.every((r) => r.status === "created")).toBe(true);
      expect(probe.maxInFlight()).toBe(limit);
    }, 15_000);
  }
});
