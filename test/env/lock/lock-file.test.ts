/** The lock file as untrusted input, its checks against the spec a worker computes, and the locked cache key. */
import { describe, expect, it } from "vitest";
import { formatLock, parseLock, type EnvLock } from "../../../src/env/lock/lock-file.js";
import { applyLock } from "../../../src/env/lock/apply-lock.js";
import { hashEnvSpec } from "../../../src/env/spec/hash.js";
import { resolveEnvSpec, normalizeManifest } from "../../../src/env/spec/manifest.js";
import type { EnvSpec } from "../../../src/env/types.js";
import { WorkerError } from "../../../src/errors.js";

const CHANNEL = "https://mirror.example/conda-forge";
const SPEC: EnvSpec = { schema: 1, channels: [CHANNEL], conda: ["numpy 1.26.*", "python 3.11.*"], pip: ["requests>=2"], variables: {}, subdir: "linux-64" };
const pkg = (name: string, version: string, build: string, sha: string) => ({ name, version, build, url: `${CHANNEL}/linux-64/${name}-${version}-${build}.conda`, sha256: sha.repeat(64) });

function lockFor(spec: EnvSpec, over: Partial<EnvLock> = {}): EnvLock {
  return {
    format: 1,
    specHash: hashEnvSpec(spec),
    subdir: spec.subdir,
    channels: spec.channels,
    conda: [pkg("python", "3.11.7", "h1_0", "a"), pkg("numpy", "1.26.4", "py311h2_0", "b")],
    pip: [{ name: "requests", version: "2.32.3" }],
    lockedWith: { name: "micromamba", version: "2.8.1" },
    createdAt: "2026-12-03T00:00:00.000Z",
    ...over,
  };
}

const codeAndReason = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return [(error as WorkerError).code, (error as WorkerError).details?.reason];
  }
  return undefined;
};

describe("parseLock", () => {
  it("round-trips a lock", () => {
    const lock = lockFor(SPEC);
    expect(parseLock(formatLock(lock))).toEqual(lock);
  });

  it.each([
    ["a URL with credentials", { conda: [{ ...pkg("python", "3.11.7", "h1_0", "a"), url: "https://user:pw@mirror.example/conda-forge/linux-64/python-3.11.7-h1_0.conda" }] }],
    ["a URL that is not an archive", { conda: [{ ...pkg("python", "3.11.7", "h1_0", "a"), url: `${CHANNEL}/linux-64/python` }] }],
    ["a URL with a fragment", { conda: [{ ...pkg("python", "3.11.7", "h1_0", "a"), url: `${CHANNEL}/linux-64/python-3.11.7-h1_0.conda#x` }] }],
    ["an ftp URL", { conda: [{ ...pkg("python", "3.11.7", "h1_0", "a"), url: "ftp://mirror.example/linux-64/python-3.11.7-h1_0.conda" }] }],
    ["a package without checksum", { conda: [{ name: "python", version: "3.11.7", build: "h1_0", url: `${CHANNEL}/linux-64/python-3.11.7-h1_0.conda` }] }],
    ["a shell character in a version", { conda: [{ ...pkg("python", "3.11.7", "h1_0", "a"), version: "3.11;rm" }] }],
    ["a pip name with spaces", { pip: [{ name: "req uests", version: "1" }] }],
    ["no packages", { conda: [] }],
    ["another format", { format: 2 }],
  ])("refuses %s with E_ENV_LOCK and how to re-lock", (_label, over) => {
    const text = JSON.stringify({ ...lockFor(SPEC), ...over });
    expect(() => parseLock(text)).toThrow(/hypha-conda-worker lock/);
    expect(codeAndReason(() => parseLock(text))).toEqual(["E_ENV_LOCK", "invalid"]);
  });

  it("refuses text that is not JSON", () => {
    expect(codeAndReason(() => parseLock("channels: [x]"))).toEqual(["E_ENV_LOCK", "invalid"]);
  });
});

describe("applyLock", () => {
  it("attaches a lock that fits; the cache key is then the lock's content", () => {
    const locked = applyLock(SPEC, lockFor(SPEC));
    expect(locked.lock?.conda).toHaveLength(2);
    expect(hashEnvSpec(locked)).not.toBe(hashEnvSpec(SPEC));
    // The key hashes URLs and checksums, not when or with which tool the lock was made, nor package order.
    const again = lockFor(SPEC, { createdAt: "2027-01-01T00:00:00.000Z", lockedWith: { name: "conda", version: "26.7.1" } });
    again.conda.reverse();
    expect(hashEnvSpec(applyLock(SPEC, again))).toBe(hashEnvSpec(locked));
    const otherBuild = lockFor(SPEC, { conda: [pkg("python", "3.11.7", "h1_0", "a"), pkg("numpy", "1.26.4", "py311h2_0", "c")] });
    expect(hashEnvSpec(applyLock(SPEC, otherBuild))).not.toBe(hashEnvSpec(locked));
  });

  it.each([
    ["platform", { ...SPEC, subdir: "osx-arm64" }, /platform linux-64, this worker is osx-arm64/],
    ["channels", { ...SPEC, channels: ["https://other.example/conda-forge"] }, /made for channels .*mirror\.example.*other\.example/],
    ["spec", { ...SPEC, conda: [...SPEC.conda, "scipy"] }, /other dependencies/],
  ])("refuses a lock made for another %s, saying how to re-lock", (reason, spec, message) => {
    expect(codeAndReason(() => applyLock(spec, lockFor(SPEC)))).toEqual(["E_ENV_LOCK", reason]);
    expect(() => applyLock(spec, lockFor(SPEC))).toThrow(message);
    expect(() => applyLock(spec, lockFor(SPEC))).toThrow(/--lock-mismatch spec/);
  });

  it("refuses a package URL outside the spec's channels (a lock cannot widen the allowed channels)", () => {
    const lock = lockFor(SPEC, { conda: [pkg("python", "3.11.7", "h1_0", "a"), { ...pkg("numpy", "1.26.4", "py311h2_0", "b"), url: "https://evil.example/x/linux-64/numpy-1.26.4-py311h2_0.conda" }] });
    expect(codeAndReason(() => applyLock(SPEC, lock))).toEqual(["E_ENV_LOCK", "foreign-url"]);
  });

  it("fits a spec whose channels name nodefaults", () => {
    const spec = { ...SPEC, channels: [CHANNEL, "nodefaults"] };
    expect(applyLock(spec, lockFor(spec)).lock).toBeDefined();
  });

  it("matches a named channel to URLs that end in its name", () => {
    const named = { ...SPEC, channels: ["conda-forge"] };
    const lock = lockFor(named, { conda: [{ ...pkg("python", "3.11.7", "h1_0", "a"), url: "https://conda.anaconda.org/conda-forge/linux-64/python-3.11.7-h1_0.conda" }] });
    expect(applyLock(named, lock).lock).toBeDefined();
  });

  it("falls back to the spec under lockMismatch spec, with a note and the spec's own key", () => {
    const spec = { ...SPEC, subdir: "osx-arm64" };
    const built = applyLock(spec, lockFor(SPEC), "spec");
    expect(built.lock).toBeUndefined();
    expect(built.lockNote).toMatch(/platform linux-64.*--lock-mismatch spec/);
    expect(hashEnvSpec(built)).toBe(hashEnvSpec(spec));
  });
});

describe("resolveEnvSpec reads the app's lock file", () => {
  const manifest = normalizeManifest({ type: "conda-python", channels: ["conda-forge"], dependencies: ["python=3.11", "numpy=1.26", { pip: ["requests>=2"] }] });
  const options = { channelMap: { "conda-forge": CHANNEL }, defaultChannels: ["conda-forge"], allowPipOptions: false, subdir: "linux-64" };

  it("attaches a fitting lock, and refuses it under another channel map", async () => {
    const lock = lockFor(SPEC);
    const files = (name: string) => Promise.resolve(name === "hypha-conda.lock.json" ? formatLock(lock) : undefined);
    expect((await resolveEnvSpec(manifest, files, options)).lock).toEqual(lock);
    const other = { ...options, channelMap: { "conda-forge": "https://other.example/conda-forge" } };
    await expect(resolveEnvSpec(manifest, files, other)).rejects.toMatchObject({ code: "E_ENV_LOCK", details: { reason: "channels" } });
    expect((await resolveEnvSpec(manifest, files, { ...other, lockMismatch: "spec" })).lock).toBeUndefined();
  });

  it("without a lock file the spec is unlocked", async () => {
    expect((await resolveEnvSpec(manifest, async () => undefined, options)).lock).toBeUndefined();
  });
});
