/**
 * prewarmEnvs: builds or confirms the env of each source (app dir, manifest, environment.yml) with bounded
 * concurrency. Sources that resolve to the same spec share one ensureEnv call, so an env is built once.
 */
import { describeError, WorkerError } from "../../errors.js";
import type { ProgressEvent } from "../../progress.js";
import { redact } from "../../redact.js";
import { hashEnvSpec } from "../spec/hash.js";
import { readMarker } from "../cache/marker.js";
import { specFromSource } from "./prewarm-source.js";
import type { SpecOptions } from "../spec/spec.js";
import type { EnvManager, EnvResult, EnvSpec, Lease, PackageManagerInfo } from "../types.js";

export interface PrewarmOptions {
  /** How many envs may be ensured at once (creates sharing a package cache are serialized below anyway). */
  concurrency: number;
  specOptions: SpecOptions;
  onProgress?: (source: string, event: ProgressEvent) => void;
  signal?: AbortSignal;
}

export interface PrewarmResult {
  source: string;
  /** null when the source could not be resolved to a spec. */
  hash: string | null;
  prefix: string | null;
  status: "created" | "cached" | "failed";
  seconds: number;
  packageManager?: PackageManagerInfo;
  error?: string;
  errorCode?: string;
}

/** Runs `tasks` with at most `limit` in flight; results keep the input order. */
async function runPool<T>(count: number, limit: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      results[index] = await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), count) }, worker));
  return results;
}

const round = (seconds: number) => Math.round(seconds * 100) / 100;

/** The tool that built a cached env, from its marker: known without spawning any package manager. */
async function recordedPackageManager(prefix: string): Promise<PackageManagerInfo | undefined> {
  try {
    const marker = await readMarker(prefix);
    return marker?.packageManager;
  } catch {
    return undefined;
  }
}

/** Builds or confirms the env of every source; never throws for one bad source (it becomes "failed"). */
export async function prewarmEnvs(sources: string[], manager: EnvManager, opts: PrewarmOptions): Promise<PrewarmResult[]> {
  const inFlight = new Map<string, Promise<EnvResult>>();
  const specs: Array<Promise<EnvSpec>> = sources.map((source) => specFromSource(source, opts.specOptions));
  // Resolve every spec up front (cheap, no tool) so duplicates are known before any build starts.
  specs.forEach((p) => p.catch(() => undefined));
  // Each ready env is leased until the run ends, so eviction after a later create in the same run
  // (--cache-max-*) cannot remove an env this run already reported as ready.
  const leases = new Map<string, Promise<Lease | undefined>>();
  const holdLease = (hash: string) => {
    if (!leases.has(hash)) leases.set(hash, manager.acquireLease(hash, `prewarm-${process.pid}`).catch(() => undefined));
  };

  try {
    return await runPool(sources.length, opts.concurrency, (index) => prewarmOne(index));
  } finally {
    await Promise.all([...leases.values()].map(async (lease) => (await lease)?.release()));
  }

  async function prewarmOne(index: number): Promise<PrewarmResult> {
    const source = sources[index]!;
    const started = Date.now();
    const seconds = () => round((Date.now() - started) / 1000);
    const emit = (event: ProgressEvent) => opts.onProgress?.(source, event);
    let hash: string | null = null;
    // ensureEnv reports its own done/failed events to the source that started it; others get ours.
    let ownsEnsure = false;
    try {
      const spec = await specs[index]!;
      // After an interrupt, sources not yet started are reported as failed, never started.
      opts.signal?.throwIfAborted();
      const specHash: string = hashEnvSpec(spec);
      hash = specHash;
      let ensure = inFlight.get(specHash);
      if (ensure) {
        emit({ phase: "cache", type: "info", message: `same environment as another source (${specHash.slice(0, 12)}); building it once`, elapsed: seconds(), data: { hash: specHash } });
      } else {
        ensure = manager.ensureEnv(spec, { onProgress: emit, ...(opts.signal ? { signal: opts.signal } : {}) });
        inFlight.set(specHash, ensure);
        ownsEnsure = true;
      }
      const result = await ensure;
      holdLease(result.hash);
      const packageManager = result.packageManager ?? (await recordedPackageManager(result.prefix));
      if (!ownsEnsure) emit({ phase: "done", type: "success", message: `${result.status} ${result.prefix}`, elapsed: seconds(), data: { hash: result.hash } });
      return {
        source,
        hash: result.hash,
        prefix: result.prefix,
        status: result.status,
        seconds: seconds(),
        ...(packageManager ? { packageManager } : {}),
      };
    } catch (error) {
      const message = redact(describeError(error));
      if (!ownsEnsure) emit({ phase: "failed", type: "error", message, elapsed: seconds(), ...(hash ? { data: { hash } } : {}) });
      return {
        source,
        hash,
        prefix: null,
        status: "failed",
        seconds: seconds(),
        error: message,
        ...(error instanceof WorkerError ? { errorCode: error.code } : {}),
      };
    }
  }
}
