/**
 * get_load, what Hypha's `select:min:get_load` compares: a start counts from the moment it arrives
 * (before its session object exists, while its env is built), running sessions count; completed,
 * failed, and stopped sessions do not.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { SessionDeps, SessionStartOptions, StartConfig } from "../../src/session/types.js";
import { CondaWorker } from "../../src/worker/conda-worker.js";
import { FakeSession, inertEnvManager } from "../support/fake-worker-session.js";

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "hcw-get-load-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

interface Gate {
  promise: Promise<void>;
  open(): void;
}
function gate(): Gate {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** A session whose start waits for `building` to open (an env being built), then runs the fake's outcome. */
class BuildingSession extends FakeSession {
  constructor(deps: SessionDeps, config: StartConfig, readonly building: Gate, outcome: "serve" | "complete" | "fail") {
    super(deps, config, { outcome });
  }
  override async start(options: SessionStartOptions): Promise<void> {
    await this.building.promise;
    return super.start(options);
  }
}

const config = (n: number) => ({ id: `ws-user-a/app-${n}`, app_id: "a", workspace: "ws-user-a", client_id: `app-${n}`, server_url: "http://127.0.0.1:9", manifest: { type: "conda-python" } });

it("counts arrived, building and running starts; not completed, failed or stopped ones", async () => {
  const created = gate();
  const builds = [gate(), gate(), gate()];
  const outcomes = ["serve", "complete", "fail"] as const;
  let n = 0;
  const worker = new CondaWorker({
    env: inertEnvManager(tmp),
    workingDir: path.join(tmp, "work"),
    createSession: async (deps, cfg) => {
      const i = n++;
      if (i === 0) await created.promise; // the first start is still between arrival and its session object
      return new BuildingSession(deps, cfg, builds[i]!, outcomes[i]!);
    },
  });
  expect(worker.get_load()).toBe(0);
  const starts = [0, 1, 2].map((i) => worker.start(config(i)).then(() => "ok", () => "failed"));
  expect(worker.get_load()).toBe(3);
  created.open();
  await expect.poll(() => worker.sessionIds().length).toBe(3);
  expect(worker.get_load()).toBe(3);
  for (const b of builds) b.open();
  expect(await Promise.all(starts)).toEqual(["ok", "ok", "failed"]);
  // app-0 runs, app-1 completed, app-2 failed (kept for its logs, not counted).
  expect(worker.get_load()).toBe(1);
  await worker.stop("ws-user-a/app-0");
  expect(worker.get_load()).toBe(0);
  await worker.shutdown();
});
