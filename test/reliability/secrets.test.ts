/**
 * Secrets: the worker's token (and another secret of the worker's environment) and each app's token are
 * searched for everywhere they must not be: the app's environment (/proc/<pid>/environ), the package
 * manager's environment (/proc/<pid>/environ while it runs, and FAKE_PM_LOG), the worker's own log (the
 * built `serve` at -v), the session logs, progress messages and error texts. An app may know its own
 * token, but printing it or raising it in an error must not put it in any log.
 * In-process variants: test/worker/e2e.test.ts, test/session/session.test.ts, test/env/create-error.test.ts.
 */
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { logContents, type AppManagerStandIn } from "../support/app-manager.js";
import { readInvocationLog } from "../support/fake-pm.js";
import type { HyphaTestServer } from "../support/hypha-server.js";
import { ALICE } from "./support/rig.js";
import { pollUntil, processEnviron } from "./support/proc.js";
import { closeServeTestBed, openServeTestBed, startServeProcess, type ServeProcess } from "./support/serve-process.js";

const OTHER_SECRET = "worker-only-secret-value-9f8e7d6c";
let root: string;
let server: HyphaTestServer;
let manager: AppManagerStandIn;
let worker: ServeProcess | undefined;

beforeAll(async () => {
  ({ root, server, manager } = await openServeTestBed("hcw-rel-secrets-"));
});
afterAll(() => closeServeTestBed({ root, server, manager }, [worker]));

/** The app token the stand-in put in the start config of session `id`. */
function appTokenOf(id: string): string {
  const call = manager.calls.find((c) => c.method === "start" && (c.positional[0] as { id?: string }).id === id);
  return String((call!.positional[0] as { token: string }).token);
}

function expectAbsent(where: string, text: string, secrets: Record<string, string>): void {
  for (const [name, secret] of Object.entries(secrets)) expect(text.includes(secret), `${name} found in ${where}`).toBe(false);
}

it("no token or worker secret reaches an app, the package manager, a log, a progress message or an error", async () => {
  const pmLog = path.join(root, "pm.log");
  worker = await startServeProcess({
    server, home: root, cacheDir: path.join(root, "cache"), workDir: path.join(root, "work"), clientId: "rel-secrets", pmLog,
    knobs: { delayMsPerPackage: 400 }, env: { MY_SERVICE_PASSWORD: OTHER_SECRET, UPLOAD_API_TOKEN: OTHER_SECRET },
  });
  const workerSecrets = { "the worker's token": worker.token, "a worker secret": OTHER_SECRET };
  const manifest = { type: "conda-python", entry_point: "main.py", channels: ["conda-forge"], dependencies: ["python", "tinylib"], startup_config: { wait_for_service: false } };
  const careless = "import os, time\nprint('my token is', os.environ['HYPHA_TOKEN'], 'pid', os.getpid(), flush=True)\ntime.sleep(60)\n";
  const raising = "import os\nraise RuntimeError('cannot log in with ' + os.environ['HYPHA_TOKEN'])\n";
  await manager.install({ manifest: { ...manifest, id: "careless" }, files: { "main.py": careless } }, { ...ALICE, appId: "careless", verify: false, compile: false });
  await manager.install({ manifest: { ...manifest, id: "raising", startup_config: {} }, files: { "main.py": raising } }, { ...ALICE, appId: "raising", verify: false, compile: false });

  // The first start creates the env: read the package manager's environment while it links packages.
  const starting = manager.start("careless", { ...ALICE, workerId: worker.serviceId, timeout: 60 });
  expect(await pollUntil(() => readInvocationLog(pmLog).some((i) => i.argv.includes("create")), 20_000)).toBe(true);
  const create = readInvocationLog(pmLog).find((i) => i.argv.includes("create"))!;
  const pmEnviron = processEnviron(create.pid);
  const session = await starting;
  const appToken = appTokenOf(session.id);
  const all = { ...workerSecrets, "the app's token": appToken };
  expect(pmEnviron, "the package manager's /proc environ was readable while it ran").toBeDefined();
  expectAbsent("the package manager's environment", JSON.stringify(pmEnviron), all);
  for (const invocation of readInvocationLog(pmLog)) expectAbsent("FAKE_PM_LOG", JSON.stringify(invocation), all);

  // The app's environment: its own token as HYPHA_TOKEN, nothing of the worker's.
  let pid = 0;
  await pollUntil(async () => {
    const line = logContents(await manager.getLogs(session.id, { type: "stdout" })).find((l) => l.includes(" pid "));
    pid = Number(/ pid (\d+)/.exec(line ?? "")?.[1] ?? 0);
    return pid > 0;
  }, 15_000, 100);
  const appEnviron = processEnviron(pid)!;
  expect(appEnviron.HYPHA_TOKEN).toBe(appToken);
  expectAbsent("the app's environment", JSON.stringify(appEnviron), workerSecrets);

  // The app printed its own token: the session log shows it redacted.
  const logs = JSON.stringify(await manager.getLogs(session.id));
  expect(logs).toContain("my token is");
  expectAbsent("the careless app's session logs", logs, all);
  expectAbsent("progress messages", JSON.stringify(session.progress), all);

  // An app that raises with its token in the message: the start error, session info and logs are redacted.
  const failed = await manager.start("raising", { ...ALICE, workerId: worker.serviceId, timeout: 60 }).then(
    () => undefined,
    (e: Error) => e,
  );
  expect(failed).toBeInstanceOf(Error);
  expect(failed!.message).toMatch(/cannot log in with/);
  const raisingCall = manager.calls.filter((c) => c.method === "start").at(-1)!;
  const raisingId = String((raisingCall.positional[0] as { id: string }).id);
  const raisingToken = appTokenOf(raisingId);
  expectAbsent("the start error", failed!.message, { ...all, "the raising app's token": raisingToken });

  await manager.stop(session.id);
  await worker.stop();
  expectAbsent("the worker's own log (serve -v)", worker.stderr(), { ...all, "the raising app's token": raisingToken });
  expect(worker.stderr()).toMatch(/starting session/);
}, 120_000);
