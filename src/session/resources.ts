/**
 * What a session holds while it lives: the bridge host, the app's process group, the env lease and the
 * working directory. Each is released at most once, in that order, whoever asks first (a failed start,
 * the app's exit, or stop); problems are collected, never thrown, so one stuck resource cannot keep the
 * others alive.
 */
import type { BridgeHost } from "../bridge/types.js";
import type { Lease } from "../env/types.js";
import { describeError } from "../errors.js";
import type { AppProcess } from "./process.js";
import { removeWorkingDir } from "./working-dir.js";

export class SessionResources {
  bridge: BridgeHost | undefined;
  proc: AppProcess | undefined;
  lease: Lease | undefined;
  workDir: string | undefined;
  /** Services the app had registered when the bridge was closed (for info()). */
  lastServices: string[] = [];

  constructor(
    private readonly workingRoot: string,
    private readonly stopGraceMs: number,
  ) {}

  /** The releases started so far: a later caller (e.g. stop) returns only once they are done too. */
  private inFlight: Promise<unknown> = Promise.resolve();

  /** Releases everything currently held; returns one line per problem (after any earlier release finished). */
  async releaseAll(reason: string): Promise<string[]> {
    const earlier = this.inFlight;
    const current = this.releaseHeld(reason);
    this.inFlight = Promise.all([earlier, current]);
    const [, problems] = await Promise.all([earlier, current]);
    return problems;
  }

  private async releaseHeld(reason: string): Promise<string[]> {
    const { bridge, proc, lease, workDir } = this;
    if (bridge) this.lastServices = bridge.registeredServices();
    this.bridge = undefined;
    this.lease = undefined;
    this.workDir = undefined;
    const problems: string[] = [];
    const attempt = async (what: string, action: () => Promise<unknown>) => {
      try {
        await action();
      } catch (error) {
        problems.push(`${what}: ${describeError(error)}`);
      }
    };
    if (bridge) await attempt("bridge", () => bridge.close(reason));
    // The process stays referenced (its exit is part of the session's info); terminate is idempotent.
    if (proc) await attempt("process", () => proc.terminate(this.stopGraceMs));
    if (lease) await attempt("lease", () => lease.release());
    if (workDir) await attempt("working dir", () => removeWorkingDir(this.workingRoot, workDir));
    return problems;
  }
}
