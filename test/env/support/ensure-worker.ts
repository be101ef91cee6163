/**
 * A separate worker process for the cross-process tests: runs N concurrent ensureEnv calls of one spec and
 * prints one JSON line per event ("creating") and a final {"host", "results": [...]} (host: the name it
 * records in locks and leases). Bundled with esbuild by
 * test/env/support/bundle.ts, since a child `node` cannot import the TypeScript sources.
 */
import { createEnvManager } from "../../../src/env/env-manager.js";
import { hostIdentity } from "../../../src/env/cache/host.js";
import type { EnvOptions, EnvSpec } from "../../../src/env/types.js";

interface WorkerConfig {
  options: EnvOptions;
  env: Record<string, string>;
  spec: EnvSpec;
  count: number;
  lockStaleMs: number;
}

const config = JSON.parse(process.argv[2] ?? "{}") as WorkerConfig;
const manager = createEnvManager(config.options, { env: config.env, lockStaleMs: config.lockStaleMs });
let announced = false;
const settled = await Promise.allSettled(
  Array.from({ length: config.count }, () =>
    manager.ensureEnv(config.spec, {
      onProgress: (event) => {
        if (event.phase === "creating" && !announced) {
          announced = true;
          process.stdout.write(`${JSON.stringify({ event: "creating", pid: process.pid })}\n`);
        }
      },
    }),
  ),
);
const results = settled.map((s) => (s.status === "fulfilled" ? { status: s.value.status, prefix: s.value.prefix } : { error: String((s.reason as Error).message) }));
process.stdout.write(`${JSON.stringify({ host: hostIdentity(), results })}\n`);
