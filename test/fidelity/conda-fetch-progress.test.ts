// conda --json writes NUL-terminated fetch records while a create downloads; ensureEnv must turn finished
// ones into "downloaded <pkg>" progress and never pass the NUL/JSON record text on as a progress message.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cacheLayout } from "../../src/env/cache/cache-layout.js";
import { ensureEnv, type EnsureContext } from "../../src/env/build/ensure-env.js";
import { probePackageManager } from "../../src/env/build/package-manager/detect.js";
import { currentSubdir } from "../../src/env/spec/spec.js";
import type { EnvSpec } from "../../src/env/types.js";
import { silentLogger } from "../../src/logger.js";
import type { ProgressEvent } from "../../src/progress.js";
import { FIXTURE_CHANNEL_URL, fakePmEnv, fakePmPath } from "../support/fake-pm.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "hcw-fidelity-fetch-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("conda fetch records during ensureEnv", () => {
  it("reports each downloaded package once and no record text", async () => {
    const env = fakePmEnv({ home: path.join(dir, "home") });
    const cacheDir = path.join(dir, "cache");
    const options = { cacheDir, bootstrap: false, channelMap: {}, defaultChannels: [FIXTURE_CHANNEL_URL], allowPipOptions: false, createTimeoutMs: 60_000 };
    const ctx: EnsureContext = {
      options,
      layout: cacheLayout(cacheDir),
      logger: silentLogger,
      baseEnv: env,
      packageManager: () => probePackageManager(fakePmPath("conda"), env),
      lockStaleMs: 2_000,
      lineProgressIntervalMs: 0,
    };
    const events: ProgressEvent[] = [];
    const spec: EnvSpec = { schema: 1, channels: [FIXTURE_CHANNEL_URL], conda: ["python", "tinylib"], pip: [], variables: {}, subdir: currentSubdir() };
    const result = await ensureEnv(ctx, spec, { onProgress: (e) => events.push(e) });
    expect(result.status).toBe("created");
    const messages = events.map((e) => e.message);
    expect(messages.filter((m) => m.startsWith("downloaded tinylib-"))).toHaveLength(1);
    expect(messages.some((m) => m.includes("\0") || m.includes('"fetch"'))).toBe(false);
  }, 60_000);
});
