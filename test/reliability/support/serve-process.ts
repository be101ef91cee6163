/**
 * The built worker (`node dist/cli.js serve`, built by `npm test`) as a separate process against the Hypha
 * test server, with the fake micromamba, so tests can SIGKILL it, run two of them on one cache, or
 * measure its memory. Registers in `public` (or `workspace`) with a token for its client id.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa, type ResultPromise } from "execa";
import { fakePmEnv, fakePmPath, FIXTURE_CHANNEL_URL, type FakePmKnobs } from "../../support/fake-pm.js";
import { AppManagerStandIn } from "../../support/app-manager.js";
import { startHyphaTestServer, type HyphaTestServer } from "../../support/hypha-server.js";

export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const CLI = path.join(REPO_ROOT, "dist", "cli.js");

export interface ServeProcessOptions {
  server: HyphaTestServer;
  /** HOME for the worker and its tools (a temp dir). */
  home: string;
  cacheDir: string;
  workDir: string;
  clientId: string;
  /** Workspace to register in (default public) and the operator's user id for its token. */
  workspace?: string;
  userId?: string;
  pmLog?: string;
  knobs?: FakePmKnobs;
  /** Extra CLI flags (e.g. --env-timeout 2). */
  args?: string[];
  /** Extra environment variables for the worker. */
  env?: Record<string, string>;
}

export interface ServeProcess {
  child: ResultPromise;
  pid: number;
  serviceId: string;
  token: string;
  /** Everything the worker wrote to stderr so far. */
  stderr(): string;
  /** SIGTERM, then SIGKILL after 10 s; resolves once it exited. */
  stop(): Promise<void>;
}

export async function startServeProcess(options: ServeProcessOptions): Promise<ServeProcess> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first ('npm test' builds it).`);
  const workspace = options.workspace ?? "public";
  const token = options.server.issueToken({ workspace, userId: options.userId ?? "operator", clientId: options.clientId });
  const env = fakePmEnv({
    home: options.home,
    ...(options.pmLog ? { invocationLog: options.pmLog } : {}),
    ...options.knobs,
    extra: {
      HYPHA_SERVER_URL: options.server.url,
      HYPHA_WORKSPACE: workspace,
      HYPHA_TOKEN: token,
      HYPHA_CONDA_CACHE_DIR: options.cacheDir,
      HYPHA_CONDA_PACKAGE_MANAGER: fakePmPath("micromamba"),
      ...options.env,
    },
  });
  const child = execa(
    process.execPath,
    [CLI, "serve", "--client-id", options.clientId, "--visibility", "public", "--working-dir", options.workDir, "--channel-map", `conda-forge=${FIXTURE_CHANNEL_URL}`, "--no-bootstrap", "-v", ...(options.args ?? [])],
    { cwd: REPO_ROOT, env, extendEnv: false, reject: false, stdin: "ignore" },
  );
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const serviceId = await new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`serve did not print its id within 30 s; stderr:\n${stderr}`)), 30_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("\n")) {
        clearTimeout(timer);
        resolve(out.trim().split("\n")[0]!);
      }
    });
    void child.then((r) => {
      clearTimeout(timer);
      reject(new Error(`serve exited early (${String(r.exitCode ?? r.signal)}): ${stderr}`));
    });
  });
  return {
    child,
    pid: child.pid!,
    serviceId,
    token,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await child;
      clearTimeout(timer);
    },
  };
}

/** What every serve-process test starts with: a temp root, the Hypha test server and its app-manager stand-in. */
export interface ServeTestBed {
  root: string;
  server: HyphaTestServer;
  manager: AppManagerStandIn;
}

export async function openServeTestBed(prefix: string): Promise<ServeTestBed> {
  const root = mkdtempSync(path.join(os.tmpdir(), prefix));
  const server = await startHyphaTestServer();
  return { root, server, manager: await AppManagerStandIn.create(server) };
}

/** Stops the workers, then the stand-in and the server; `beforeRemove` runs just before the root goes. */
export async function closeServeTestBed(bed: Partial<ServeTestBed>, workers: Array<ServeProcess | undefined>, beforeRemove?: () => void): Promise<void> {
  await Promise.allSettled(workers.map((w) => w?.stop()));
  await bed.manager?.close();
  await bed.server?.stop();
  beforeRemove?.();
  if (bed.root) rmSync(bed.root, { recursive: true, force: true });
}
