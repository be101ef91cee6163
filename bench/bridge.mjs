/**
 * The bridge: calls from a hypha-rpc JS client, through the Hypha test server, to the `service` fixture app
 * running in a conda env under the real CondaWorker (worker → bridge → Python), against the same calls to an
 * equivalent service written in JS and registered on the same server by another client.
 * Measures: round trip of a small call (ratio), throughput at 1/16/64 concurrent callers, and round trips
 * with 1 KB and 1 MB byte payloads (echo).
 */
import path from "node:path";
import { APPS_DIR, QUICK, interleave, iterations, loadDist, log, makeTemp, ms, nowMs, ratio, runIfMain, summarize } from "./lib/common.mjs";
import { createBenchEnvManager, readManifest } from "./lib/env.mjs";
import { startAppFilesServer } from "./lib/app-files-server.mjs";
import { openBenchServer } from "./lib/server.mjs";

export const NAME = "bridge";

async function throughput(fn, concurrency, callsPerCaller) {
  const t = nowMs();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    for (let i = 0; i < callsPerCaller; i += 1) await fn(i);
  }));
  const seconds = (nowMs() - t) / 1000;
  return Math.round((concurrency * callsPerCaller) / seconds);
}

export async function run() {
  const dist = await loadDist();
  const server = await openBenchServer();
  const WS = server.workspace;
  const files = await startAppFilesServer();
  const appDir = path.join(APPS_DIR, "service");
  files.addApp("service", appDir);
  const env = await createBenchEnvManager(makeTemp("bridge-cache"));
  const worker = new dist.CondaWorker({ env, workingDir: makeTemp("bridge-work"), stopGraceMs: 2_000 });
  const clients = [];
  const connect = async (clientId) => {
    const client = await dist.connectToHypha({ server_url: server.url, workspace: WS, client_id: clientId, token: server.tokenFor(clientId) });
    clients.push(client);
    return client;
  };
  try {
    const appClientId = "bench-service-app";
    const sessionId = await worker.start({
      id: `${WS}/${appClientId}`, app_id: "service", workspace: WS, client_id: appClientId, server_url: server.url,
      app_files_base_url: files.baseUrlFor("service"), token: server.tokenFor(appClientId),
      timeout: 120, manifest: await readManifest(appDir),
    });
    const provider = await connect("bench-js-provider");
    await provider.registerService({ id: "echo-js", config: { visibility: "public" }, add: (a, b) => a + b, echo: (value) => value });
    const caller = await connect("bench-caller");
    const python = await caller.getService(`${sessionId}:default`);
    const js = await caller.getService(`${WS}/bench-js-provider:echo-js`);
    if ((await python.add(2, 3)) !== 5 || (await js.add(2, 3)) !== 5) throw new Error("the services do not answer add(2, 3) = 5");

    const services = { "bridge (Python app)": python, "JS service": js };
    const rounds = iterations(300, 5);
    log(`bridge: ${rounds} interleaved small round trips`);
    for (let i = 0; i < 20; i += 1) for (const s of Object.values(services)) await s.add(i, 1);
    const small = await interleave(rounds, Object.fromEntries(Object.entries(services).map(([name, s]) => [name, async (i) => {
      const t = nowMs();
      const sum = await s.add(i, 1);
      if (sum !== i + 1) throw new Error(`${name}: add(${i}, 1) answered ${sum}`);
      return nowMs() - t;
    }])));

    const payloads = {};
    for (const [label, size, count] of [["1 KB", 1024, iterations(100, 2)], ["1 MB", 1024 * 1024, iterations(20, 1)]]) {
      const data = new Uint8Array(size).map((_, i) => i % 251);
      log(`bridge: ${count} interleaved ${label} echoes`);
      const samples = await interleave(count, Object.fromEntries(Object.entries(services).map(([name, s]) => [name, async () => {
        const t = nowMs();
        const back = await s.echo(data);
        const elapsed = nowMs() - t;
        if (!back || back.length !== size || back[size - 1] !== data[size - 1]) throw new Error(`${name}: the ${label} echo came back wrong (${back?.length} bytes)`);
        return elapsed;
      }])));
      const stats = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
      payloads[label] = { bytes: size, stats, ratio: ratio(stats["bridge (Python app)"].median, stats["JS service"].median) };
    }

    const concurrency = {};
    const perCaller = { 1: iterations(200, 3), 16: iterations(25, 2), 64: iterations(8, 1) };
    for (const c of [1, 16, 64]) {
      const measured = {};
      // Interleaved pairs; the best of them, since throughput drops with anything else the machine does.
      for (let r = 0; r < iterations(3, 1); r += 1) {
        for (const [name, s] of r % 2 === 0 ? Object.entries(services) : Object.entries(services).reverse()) {
          (measured[name] ??= []).push(await throughput((i) => s.add(i, 1), c, perCaller[c]));
        }
      }
      const callsPerS = Object.fromEntries(Object.entries(measured).map(([k, v]) => [k, Math.max(...v)]));
      concurrency[c] = { callsPerCaller: perCaller[c], callsPerS, samples: measured, ratio: ratio(callsPerS["bridge (Python app)"], callsPerS["JS service"]) };
      log(`bridge: concurrency ${c}: ${JSON.stringify(callsPerS)} calls/s`);
    }

    const smallStats = Object.fromEntries(Object.entries(small).map(([k, v]) => [k, summarize(v)]));
    const rt = ratio(smallStats["bridge (Python app)"].median, smallStats["JS service"].median);
    await worker.stop(sessionId);
    return {
      target: "reported (no numeric target): round-trip ratio against a JS service on the same server, throughput at 1/16/64 callers, 1 KB / 1 MB payloads",
      unit: "ms; calls/s for throughput",
      roundTrip: { rounds, stats: smallStats, ratio: rt },
      payloads,
      throughput: concurrency,
      figures: {
        roundTripRatio: rt,
        roundTripMedianMs: { bridge: smallStats["bridge (Python app)"].median, js: smallStats["JS service"].median },
        payload1KBRatio: payloads["1 KB"].ratio,
        payload1MBRatio: payloads["1 MB"].ratio,
        throughputRatio: Object.fromEntries(Object.entries(concurrency).map(([c, v]) => [c, v.ratio])),
      },
      targetMet: null,
      summary: [
        `round trip add(): bridge ${ms(smallStats["bridge (Python app)"].median)} (p90 ${ms(smallStats["bridge (Python app)"].p90)}) vs JS service ${ms(smallStats["JS service"].median)}: ×${rt}`,
        ...Object.entries(payloads).map(([label, p]) => `echo ${label}: bridge ${ms(p.stats["bridge (Python app)"].median)} vs JS ${ms(p.stats["JS service"].median)}: ×${p.ratio}`),
        ...Object.entries(concurrency).map(([c, v]) => `throughput at ${c} callers: bridge ${v.callsPerS["bridge (Python app)"]} calls/s vs JS ${v.callsPerS["JS service"]} calls/s: ×${v.ratio}`),
      ],
      notes: [
        "Path of a bridge call: caller → test server → the app's Hypha client inside the worker (hypha-rpc JS) → framed pipe → Python runner → back. The JS service path is caller → test server → provider client.",
        "The app is the service fixture (fixtures/apps/service) in an env built by the fake micromamba; it has no hypha-rpc in its env.",
        QUICK ? "QUICK run: too few iterations to trust." : "",
      ].filter(Boolean),
    };
  } finally {
    await worker.shutdown().catch(() => undefined);
    for (const client of clients) await client.disconnect().catch(() => undefined);
    await files.close();
    await server.stop();
  }
}

await runIfMain(import.meta.url, NAME, run);
