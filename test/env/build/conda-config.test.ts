/**
 * conda's own behaviours the worker must live with (reference/conda-family.md, "Newer releases"): the
 * operator's HOME (pip.conf, .condarc) reaches the tool, environments.txt is not written, `nodefaults` is a
 * channel name on 26.7, and a create that exits 0 without an env is a failure that leaves nothing behind.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { promises as fs } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { FIXTURE_WHEELS_DIR, fakePmPath, readInvocationLog } from "../../support/fake-pm.js";
import { IS_REAL, makeManager, makeSpec, makeTestCache, TARGET, type TestCache } from "../support/env-fixtures.js";
import { catchError, expectNothingCached } from "../support/env-assertions.js";
import { hashEnvSpec } from "../../../src/env/spec/hash.js";
import { environmentYamlFor } from "../../../src/env/build/ensure-env.js";

let cache: TestCache;
let home: string;
beforeEach(async () => {
  cache = await makeTestCache("hcw-conda-config-");
  home = path.join(cache.dir, "operator-home");
  await fs.mkdir(home, { recursive: true });
});
afterEach(async () => {
  await cache.cleanup();
});

// Against a real tool (HYPHA_CONDA_TEST_PACKAGE_MANAGER) the same two tests run on it: its pip reads the temp HOME.
const CONDA_FACES: Array<{ label: string; version: string | undefined }> = IS_REAL ? [{ label: TARGET.reason, version: undefined }] : [{ label: "fake conda 25.11.1", version: "25.11.1" }, { label: "fake conda 26.7.1", version: "26.7.1" }];

describe.each(CONDA_FACES)("$label with the operator's own configuration", ({ version }) => {
  // An operator whose pip settings live only in the file: PIP_* variables (this machine sets some) would win over it.
  const saved = Object.entries(process.env).filter(([name]) => name.startsWith("PIP_"));
  beforeAll(() => saved.forEach(([name]) => delete process.env[name]));
  afterAll(() => saved.forEach(([name, value]) => (process.env[name] = value)));

  it("builds a pip: section from a mirror configured only in ~/.config/pip/pip.conf, and registers no env", async () => {
    // Only the operator's user config can find tinywheel: no PIP_* offline settings reach the tool.
    await fs.mkdir(path.join(home, ".config", "pip"), { recursive: true });
    await fs.writeFile(path.join(home, ".config", "pip", "pip.conf"), `[global]\nno-index = true\nfind-links = ${FIXTURE_WHEELS_DIR}\n`);
    const manager = makeManager(cache, { face: "conda", knobs: { version, home, offlinePip: false } });
    const spec = makeSpec(["python", "tinylib"], ["tinywheel"]);
    const created = await manager.ensureEnv(spec);
    const probe = await execa(created.pythonPath, ["-c", "import tinywheel; print(tinywheel.__version__)"], { env: created.activation, extendEnv: false });
    expect(probe.stdout).toBe("0.1");
    if (!IS_REAL) {
      const [create] = readInvocationLog(cache.log).filter((i) => i.argv.includes("-p"));
      expect(create!.env).toMatchObject({ HOME: home, CONDA_REGISTER_ENVS: "false" });
    }
    // Real conda 26.7.1 may leave an empty environments.txt; what matters is that the env is not listed.
    const registered = await fs.readFile(path.join(home, ".conda", "environments.txt"), "utf8").catch(() => "");
    expect(registered).not.toContain(created.prefix);
  });

  it("the same pip: section fails without that user config (the test above can fail)", async () => {
    const manager = makeManager(cache, { face: "conda", knobs: { version, home, offlinePip: false } });
    const spec = makeSpec(["python"], ["tinywheel"]);
    const error = await catchError(manager.ensureEnv(spec));
    expect(error.details).toMatchObject({ diagnosis: "pip-failed" });
    await expectNothingCached(cache, hashEnvSpec(spec));
  });
});

describe.skipIf(IS_REAL)("fake conda 26.7.1's create path", () => {
  it("fails on a `nodefaults` channel the way 26.7.1 does, which is why the worker names channels on the command line", async () => {
    const envFile = path.join(cache.dir, "environment.yml");
    await fs.writeFile(envFile, `channels:\n  - ${TARGET.channelUrl}\n  - nodefaults\ndependencies:\n  - python\n`);
    const run = await execa(fakePmPath("conda"), ["create", "-p", path.join(cache.dir, "p"), "-f", envFile, "--yes", "--json"], {
      env: { ...process.env, FAKE_PM_VERSION: "26.7.1", HOME: home },
      reject: false,
    });
    expect(run.exitCode).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ exception_name: "UnavailableInvalidChannel", channel_name: "nodefaults" });
    expect(environmentYamlFor(makeSpec(["python"]), { name: "conda", version: "26.7.1", path: "/c" })).not.toContain("nodefaults");
    expect(environmentYamlFor(makeSpec(["python"]), { name: "conda", version: "26.5.0", path: "/c" })).toContain("nodefaults");
  });

  it("keeps a .condarc channel out of the solve: only the spec's channel is used", async () => {
    // The fake, like conda, cannot reach a named channel offline: had it joined the solve, the create would fail.
    await fs.writeFile(path.join(home, ".condarc"), "channels:\n  - operator-private-channel\n");
    const manager = makeManager(cache, { face: "conda", knobs: { version: "26.7.1", home } });
    const created = await manager.ensureEnv(makeSpec(["python", "tinylib"]));
    expect(created.status).toBe("created");
    const plain = await execa(fakePmPath("conda"), ["create", "-p", path.join(cache.dir, "q"), "-c", TARGET.channelUrl, "python", "--yes", "--json"], {
      env: { ...process.env, FAKE_PM_VERSION: "26.7.1", HOME: home },
      reject: false,
    });
    expect(JSON.parse(plain.stdout)).toMatchObject({ exception_name: "CondaHTTPError" });
  });

  it("names the missing package from PackagesNotFoundInChannelsError", async () => {
    const manager = makeManager(cache, { face: "conda", knobs: { version: "26.7.1", home } });
    const error = await catchError(manager.ensureEnv(makeSpec(["python", "nosuchpkg"])));
    expect(error.details).toMatchObject({ diagnosis: "packages-not-found", exceptionName: "PackagesNotFoundInChannelsError", packages: ["nosuchpkg"] });
    expect(error.message).toContain("nosuchpkg");
  });

  it("treats an exit code of 0 without an env as a failure, reports the tool's text and leaves nothing behind", async () => {
    const manager = makeManager(cache, { face: "conda", knobs: { version: "26.7.1", home, exitZeroCorrupt: true } });
    const spec = makeSpec(["python", "tinylib"]);
    const error = await catchError(manager.ensureEnv(spec));
    expect(error.code).toBe("E_ENV_CREATE");
    expect(error.message).toMatch(/exited 0 but did not create the env/);
    expect(error.message).toContain("Encountered corrupt package tarball");
    await expectNothingCached(cache, hashEnvSpec(spec));
  });
});

describe.skipIf(IS_REAL)("micromamba 2.8's terse solver JSON", () => {
  it("names the missing package although --json said only 'unsupported request'", async () => {
    const manager = makeManager(cache, { face: "micromamba", knobs: { version: "2.8.1" } });
    const spec = makeSpec(["python", "nosuchpkg"]);
    const error = await catchError(manager.ensureEnv(spec));
    expect(error.details).toMatchObject({ diagnosis: "packages-not-found", packages: ["nosuchpkg"] });
    expect(error.message).toMatch(/Fix the package names or versions \(nosuchpkg\)/);
    const runs = readInvocationLog(cache.log).filter((i) => i.argv.includes("-p"));
    expect(runs.map((r) => r.argv.includes("--dry-run"))).toEqual([false, true]);
    await expectNothingCached(cache, hashEnvSpec(spec));
  });
});
