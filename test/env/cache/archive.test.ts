import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { list, type ReadEntry } from "tar";
import { exportEnv, importEnv } from "../../../src/env/cache/archive.js";
import { readMarker } from "../../../src/env/cache/marker.js";
import { currentSubdir } from "../../../src/env/spec/spec.js";
import { prewarmEnvs } from "../../../src/env/operator/prewarm.js";
import { app, makeSandbox, type Sandbox } from "../../cli/operator-sandbox.js";

let box: Sandbox;
let other: Sandbox | undefined;
beforeEach(async () => {
  box = await makeSandbox();
});
afterEach(async () => {
  await box.cleanup();
  await other?.cleanup();
  other = undefined;
});

async function buildTiny(): Promise<{ hash: string; prefix: string }> {
  const [r] = await prewarmEnvs([app("tiny")], box.manager(), { concurrency: 1, specOptions: box.options });
  expect(r!.status).toBe("created");
  return { hash: r!.hash!, prefix: r!.prefix! };
}

async function archiveContents(file: string): Promise<{ paths: string[]; manifest: Record<string, unknown> }> {
  const paths: string[] = [];
  let text = "";
  await list({
    file,
    onReadEntry: (e: ReadEntry) => {
      paths.push(e.path);
      if (e.path === "hypha-env-archive.json") e.on("data", (c: Buffer) => (text += c.toString("utf8")));
    },
  });
  return { paths, manifest: JSON.parse(text) as Record<string, unknown> };
}

const leftovers = async (envsDir: string) => (await readdir(envsDir)).filter((n) => n.startsWith(".import-"));

describe("cache export / import", () => {
  it("round-trips an env: export, remove, import; the imported env is a cache hit and runs", async () => {
    const { hash, prefix } = await buildTiny();
    const file = join(box.dir, "tiny.tar.gz");
    const exported = await exportEnv(box.manager(), hash.slice(0, 8), file);
    expect(exported).toMatchObject({ file, hash, prefix });
    // The fake's venv-style python links to the machine's python3, outside the env: recorded, not hidden.
    if (box.isFake) expect(exported.externalLinks.map((l) => l.path)).toContain("bin/python3.11");

    const { paths, manifest } = await archiveContents(file);
    expect(manifest).toMatchObject({ format: "hypha-conda-worker-env", hash, cachePath: box.cacheDir, prefix, platform: currentSubdir(), tool: { name: box.target.name } });
    const dirName = prefix.split("/").pop()!;
    expect(paths).toContain(`${dirName}/conda-meta/hypha-conda-worker.json`);
    expect(paths.every((p) => p === "hypha-env-archive.json" || p.startsWith(`${dirName}/`))).toBe(true);

    await box.manager().removeEnv(hash);
    expect(await box.manager().listEnvs()).toEqual([]);

    // Without the operator's consent, links out of the env are refused and nothing is written.
    if (exported.externalLinks.length > 0) {
      await expect(importEnv(box.manager(), file)).rejects.toMatchObject({ code: "E_PATH_ESCAPE", message: expect.stringContaining("--allow-external-links") });
      expect(await readdir(join(box.cacheDir, "envs"))).toEqual([]);
    }

    const imported = await importEnv(box.manager(), file, { allowExternalLinks: true });
    expect(imported).toEqual({ hash, prefix, replaced: false });
    expect((await readMarker(prefix))?.hash).toBe(hash);
    expect(await leftovers(join(box.cacheDir, "envs"))).toEqual([]);

    const before = box.invocations().length;
    const [again] = await prewarmEnvs([app("tiny")], box.manager(), { concurrency: 1, specOptions: box.options });
    expect(again).toMatchObject({ status: "cached", hash, prefix });
    if (box.isFake) expect(box.invocations()).toHaveLength(before);
    const run = await execa(join(prefix, "bin", "python"), ["-c", "import tinylib; print(tinylib.__version__)"]);
    expect(run.stdout.trim()).toBe("2.0");
  });

  it("refuses to overwrite an existing env unless forced, and never replaces one in use", async () => {
    const { hash, prefix } = await buildTiny();
    const file = join(box.dir, "tiny.tar.gz");
    await exportEnv(box.manager(), hash, file);
    const markerBefore = await readFile(join(prefix, "conda-meta", "hypha-conda-worker.json"), "utf8");

    await expect(importEnv(box.manager(), file, { allowExternalLinks: true })).rejects.toMatchObject({ code: "E_ARCHIVE", message: expect.stringContaining("already exists") });

    const manager = box.manager();
    const lease = await manager.acquireLease(hash, "test-session");
    try {
      await expect(importEnv(manager, file, { allowExternalLinks: true, force: true })).rejects.toMatchObject({ code: "E_ENV_IN_USE" });
    } finally {
      await lease.release();
    }
    expect(await readFile(join(prefix, "conda-meta", "hypha-conda-worker.json"), "utf8")).toBe(markerBefore);

    const replaced = await importEnv(box.manager(), file, { allowExternalLinks: true, force: true });
    expect(replaced).toEqual({ hash, prefix, replaced: true });
    expect((await readMarker(prefix))?.hash).toBe(hash);
    expect(await leftovers(join(box.cacheDir, "envs"))).toEqual([]);
  });

  it("refuses an archive exported from another cache path and writes nothing", async () => {
    const { hash } = await buildTiny();
    const file = join(box.dir, "tiny.tar.gz");
    await exportEnv(box.manager(), hash, file);
    other = await makeSandbox("other-cache");
    const error = await importEnv(other.manager(), file, { allowExternalLinks: true }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "E_ARCHIVE" });
    expect((error as Error).message).toContain(`exported from cache ${box.cacheDir}`);
    expect((error as Error).message).toContain("not relocatable");
    await expect(readdir(join(other.cacheDir, "envs"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("refuses to export an env that is not cached", async () => {
    await expect(exportEnv(box.manager(), "abcdef12", join(box.dir, "x.tar.gz"))).rejects.toMatchObject({ code: "E_CACHE" });
    expect((await readdir(box.dir)).filter((n) => n.includes("x.tar.gz"))).toEqual([]);
  });
});
