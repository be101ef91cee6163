/**
 * Bridge against direct: a hypha-rpc JS caller calls, through one Hypha server, (a) the `service` fixture
 * run by the CondaWorker (worker → bridge → Python, no hypha-rpc in the env) and (b) the same main.py in a
 * python that connects to the server itself (bench/lib/direct-client.mjs: the benchmark's msgpack +
 * websockets client, or the real hypha_rpc with HYPHA_CONDA_TEST_HYPHA_RPC).
 * Measures, interleaved A/B: median sequential add() latency, wall time of 200 concurrent add() calls
 * (median of rounds), median 1 MB bytes echo. Targets (issue 12): ≤ 1.1×, ≤ 1.0×, ≤ 1.1× of direct.
 */
import path from "node:path";
import { APPS_DIR, QUICK, interleave, iterations, loadDist, log, ms, nowMs, ratio, runIfMain, summarize } from "./lib/common.mjs";
import { readManifest } from "./lib/env.mjs";
import { startAppFilesServer } from "./lib/app-files-server.mjs";
import { directClientKind, ensureDirectVenv, startDirectApp } from "./lib/direct-client.mjs";
import { openBenchServer } from "./lib/server.mjs";
import { noteDirectClient, packageManagerFor } from "./lib/target.mjs";
import { forkWorkerProcess } from "./lib/worker-process.mjs";

export const NAME = "bridge-direct";
const BRIDGE = "bridge";
const DIRECT = "direct";
const WORKER_JS = "worker JS";
const PIPE_FLOOR = "pipe floor";
const TARGETS = { sequential: 1.1, concurrent200: 1.0, echo1MB: 1.1 };

async function concurrentWall(service, n) {
  const t = nowMs();
  const sums = await Promise.all(Array.from({ length: n }, (_, i) => service.add(i, 1)));
  const elapsed = nowMs() - t;
  if (sums.some((s, i) => s !== i + 1)) throw new Error("a concurrent add() answered wrong");
  return elapsed;
}

export async function run() {
  const dist = await loadDist();
  const client = directClientKind();
  noteDirectClient(client.label);
  const python = await ensureDirectVenv(client);
  const server = await openBenchServer();
  const WS = server.workspace;
  const files = await startAppFilesServer();
  const appDir = path.join(APPS_DIR, "service");
  files.addApp("service", appDir);
  packageManagerFor(); // recorded in producedBy; the worker process uses the same target
  const worker = forkWorkerProcess();
  let direct;
  let caller;
  try {
    const appClientId = "bench-bridged-app";
    const sessionId = await worker.start({
      id: `${WS}/${appClientId}`, app_id: "service", workspace: WS, client_id: appClientId, server_url: server.url,
      app_files_base_url: files.baseUrlFor("service"), token: server.tokenFor(appClientId),
      timeout: 120, manifest: await readManifest(appDir),
    });
    const directId = "bench-direct-app";
    direct = await startDirectApp({ python, client, main: path.join(appDir, "main.py"), identity: { serverUrl: server.url, workspace: WS, clientId: directId, token: server.tokenFor(directId) } });
    caller = await dist.connectToHypha({ server_url: server.url, workspace: WS, client_id: "bench-direct-caller", token: server.tokenFor("bench-direct-caller") });
    const services = { [BRIDGE]: await caller.getService(`${sessionId}:default`), [DIRECT]: await caller.getService(`${WS}/${directId}:default`) };
    // Reference: the same two functions in JS, registered by a hypha-rpc client in the worker's process (no bridge hop).
    const jsId = "bench-worker-js";
    await worker.registerJsService({ server_url: server.url, workspace: WS, client_id: jsId, token: server.tokenFor(jsId) });
    services[WORKER_JS] = await caller.getService(`${WS}/${jsId}:default`);
    // Floor of any process hop: the same JS client, its add/echo answered by a minimal Python loop over fd 3.
    const floorId = "bench-pipe-floor";
    await worker.registerPipeFloorService({ server_url: server.url, workspace: WS, client_id: floorId, token: server.tokenFor(floorId) });
    services[PIPE_FLOOR] = await caller.getService(`${WS}/${floorId}:default`);
    for (const [name, s] of Object.entries(services)) if ((await s.add(2, 3)) !== 5) throw new Error(`${name}: add(2, 3) did not answer 5`);
    for (let i = 0; i < iterations(30, 2); i += 1) for (const s of Object.values(services)) await s.add(i, 1);

    const rounds = iterations(300, 5);
    log(`bridge-direct: ${rounds} interleaved sequential add() calls`);
    const sequential = await interleave(rounds, Object.fromEntries(Object.entries(services).map(([name, s]) => [name, async (i) => {
      const t = nowMs();
      const sum = await s.add(i, 1);
      if (sum !== i + 1) throw new Error(`${name}: add(${i}, 1) answered ${sum}`);
      return nowMs() - t;
    }])));

    const concurrentRounds = iterations(40, 2);
    log(`bridge-direct: ${concurrentRounds} interleaved rounds of 200 concurrent add() calls`);
    for (const s of Object.values(services)) await concurrentWall(s, 200);
    const concurrent = await interleave(concurrentRounds, Object.fromEntries(Object.entries(services).map(([name, s]) => [name, () => concurrentWall(s, 200)])));

    const size = 1024 * 1024;
    const data = new Uint8Array(size).map((_, i) => i % 251);
    const echoes = iterations(30, 2);
    log(`bridge-direct: ${echoes} interleaved 1 MB echoes`);
    for (const s of Object.values(services)) await s.echo(data);
    const echo = await interleave(echoes, Object.fromEntries(Object.entries(services).map(([name, s]) => [name, async () => {
      const t = nowMs();
      const back = await s.echo(data);
      const elapsed = nowMs() - t;
      if (!back || back.length !== size || back[size - 1] !== data[size - 1]) throw new Error(`${name}: the 1 MB echo came back wrong (${back?.length} bytes)`);
      return elapsed;
    }])));

    const stat = (samples) => Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
    const parts = { sequential: stat(sequential), concurrent200: stat(concurrent), echo1MB: stat(echo) };
    const ratios = Object.fromEntries(Object.entries(parts).map(([k, s]) => [k, ratio(s[BRIDGE].median, s[DIRECT].median)]));
    const floor = Object.fromEntries(Object.entries(parts).map(([k, s]) => [k, ratio(s[WORKER_JS].median, s[DIRECT].median)]));
    const pipeFloor = Object.fromEntries(Object.entries(parts).map(([k, s]) => [k, ratio(s[PIPE_FLOOR].median, s[DIRECT].median)]));
    const met = Object.fromEntries(Object.entries(ratios).map(([k, r]) => [k, r !== null && r <= TARGETS[k]]));
    const labels = { sequential: "sequential add()", concurrent200: "200 concurrent add() (wall)", echo1MB: "1 MB echo" };
    return {
      target: `bridge ≤ ${TARGETS.sequential}× direct sequential, ≤ ${TARGETS.concurrent200}× for 200 concurrent calls, ≤ ${TARGETS.echo1MB}× for 1 MB echoes (medians, interleaved)`,
      unit: "ms",
      stats: Object.fromEntries(Object.entries(parts).flatMap(([k, s]) => Object.entries(s).map(([variant, v]) => [`${variant}: ${labels[k]}`, v]))),
      figures: {
        medianMs: Object.fromEntries(Object.entries(parts).map(([k, s]) => [k, { bridge: s[BRIDGE].median, direct: s[DIRECT].median, workerJs: s[WORKER_JS].median, pipeFloor: s[PIPE_FLOOR].median }])),
        ratios,
        workerJsRatios: floor,
        pipeFloorRatios: pipeFloor,
        targets: TARGETS,
        met,
        directClient: client.kind,
      },
      targetMet: Object.values(met).every(Boolean),
      summary: Object.keys(parts).map((k) => `${labels[k]}: bridge ${ms(parts[k][BRIDGE].median)} vs direct ${ms(parts[k][DIRECT].median)}: ×${ratios[k]} (target ≤ ${TARGETS[k]}×) → ${met[k] ? "met" : "NOT met"}; worker JS (no bridge hop) ${ms(parts[k][WORKER_JS].median)}: ×${floor[k]}; pipe floor ${ms(parts[k][PIPE_FLOOR].median)}: ×${pipeFloor[k]}`),
      notes: [
        "Bridged path: caller → server → the app's hypha-rpc JS client inside the worker → framed pipe (fd 3) → Python runner → back. Direct path: caller → server → the app's own Python client.",
        "worker JS: the same add/echo in JS, registered by a hypha-rpc client inside the worker's process: what the worker's hypha-rpc costs without the bridge hop (the floor of the bridged path while the worker answers through hypha-rpc).",
        "pipe floor: that JS client's add/echo sent over the bridge's framing (fd 3) to a minimal Python loop (bench/lib/pipe-floor.py: read, parse, answer; no runner, threads or codec): the least any design pays that runs the app's Python in its own process beside the worker. bridge vs pipe floor is the bridge's own cost; pipe floor vs direct is the hop's.",
        "The worker runs in its own Node process (bench/lib/worker-process.mjs), as in production; the test server and the caller share the benchmark's process for both paths.",
        `Direct side: ${client.label}, running the same fixtures/apps/service/main.py.`,
        client.kind === "bench" ? "The benchmark's client does less per call than the real hypha_rpc (no heartbeats, schemas or reconnection), so the ratios are if anything pessimistic for the bridge." : "",
        "1 MB calls and replies travel as 256 KiB chunks through the receiver's message_cache on both paths (hypha-rpc's protocol).",
        QUICK ? "QUICK run: too few iterations to trust." : "",
      ].filter(Boolean),
    };
  } finally {
    await caller?.disconnect().catch(() => undefined);
    await direct?.stop().catch(() => undefined);
    await worker.exit().catch(() => undefined);
    await files.close();
    await server.stop();
  }
}

await runIfMain(import.meta.url, NAME, run);
