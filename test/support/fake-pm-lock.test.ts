// The fakes' dry-run JSON and explicit-list creates, as the real tools print and do them: conda's
// `create --dry-run --json` (conda/cli/install.py handle_txn → stdout_json_success: LINK is
// dist_fields_dump() without url; FETCH holds full records of what the package cache lacks), libmamba's
// (transaction.cpp log_json: LINK and FETCH are full PackageInfo JSON with url, md5, sha256), and
// `create --file` with an @EXPLICIT list (conda/misc.py url_pat: `url#md5` or `url#sha256:hex`; libmamba
// package_info.cpp the same): exactly those packages, no solve, an error naming a URL the channel lacks.
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FIXTURE_CHANNEL_URL, fakePmEnv, makeTempDir, runFakePm, type FakePmEnvOptions } from "./fake-pm.js";

let tmp: string;
let envOpts: FakePmEnvOptions;
beforeEach(() => {
  tmp = makeTempDir("fake-pm-lock-");
  envOpts = { home: path.join(tmp, "home"), pkgsDir: path.join(tmp, "pkgs"), rootPrefix: path.join(tmp, "root"), solveLog: path.join(tmp, "solves.log") };
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));
const env = () => fakePmEnv(envOpts);
const solves = () => (fs.existsSync(path.join(tmp, "solves.log")) ? fs.readFileSync(path.join(tmp, "solves.log"), "utf8").split("\n").filter(Boolean).length : 0);
const dryRun = (face: "conda" | "micromamba", prefix: string, ...specs: string[]) =>
  runFakePm(face, ["create", "-p", prefix, "--dry-run", "--json", "--override-channels", "-c", FIXTURE_CHANNEL_URL, ...specs], { env: env() });
const url = (fn: string) => `${FIXTURE_CHANNEL_URL}/noarch/${fn}`;

describe("create --dry-run --json", () => {
  it("conda: LINK without url, FETCH with url and checksums for what the cache lacks; nothing created", async () => {
    const prefix = path.join(tmp, "e");
    const run = await dryRun("conda", prefix, "tinyapp");
    expect(run.exitCode, run.stderr).toBe(0);
    const doc = JSON.parse(run.stdout);
    expect(doc).toMatchObject({ success: true, dry_run: true, prefix });
    const link = doc.actions.LINK as Array<Record<string, unknown>>;
    expect(link.map((l) => l.name).sort()).toEqual(["pip", "python", "tinyapp", "tinylib"]);
    for (const entry of link) {
      expect(Object.keys(entry).sort()).toEqual(["base_url", "build_number", "build_string", "channel", "dist_name", "name", "platform", "version"]);
    }
    const fetch = doc.actions.FETCH as Array<Record<string, string>>;
    expect(fetch.find((f) => f.name === "tinyapp")).toMatchObject({ url: url("tinyapp-1.0-py_0.tar.bz2"), fn: "tinyapp-1.0-py_0.tar.bz2", md5: expect.stringMatching(/^[0-9a-f]{32}$/), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(fs.existsSync(prefix)).toBe(false);
    expect(fs.existsSync(path.join(tmp, "pkgs", "tinyapp-1.0-py_0"))).toBe(false);
    expect(solves()).toBe(1);

    // Once the package cache holds them, FETCH no longer lists them (the record is in <pkgs>/<dist>/info).
    const created = await runFakePm("conda", ["create", "-p", path.join(tmp, "warm"), "-y", "--override-channels", "-c", FIXTURE_CHANNEL_URL, "tinyapp"], { env: env() });
    expect(created.exitCode, created.stderr).toBe(0);
    const warm = JSON.parse((await dryRun("conda", prefix, "tinyapp")).stdout);
    expect(warm.actions.FETCH).toEqual([]);
    const record = JSON.parse(fs.readFileSync(path.join(tmp, "pkgs", "tinyapp-1.0-py_0", "info", "repodata_record.json"), "utf8"));
    expect(record).toMatchObject({ url: url("tinyapp-1.0-py_0.tar.bz2"), md5: fetch.find((f) => f.name === "tinyapp")!.md5 });
  });

  it("micromamba: LINK entries are full records with url, md5 and sha256", async () => {
    const run = await dryRun("micromamba", path.join(tmp, "e"), "tinylib");
    const doc = JSON.parse(run.stdout);
    expect(doc).toMatchObject({ success: true, dry_run: true });
    const tinylib = (doc.actions.LINK as Array<Record<string, string>>).find((l) => l.name === "tinylib")!;
    expect(tinylib).toMatchObject({ url: url("tinylib-2.0-py_0.tar.bz2"), fn: "tinylib-2.0-py_0.tar.bz2", build: "py_0", build_string: "py_0", subdir: "noarch", md5: expect.stringMatching(/^[0-9a-f]{32}$/), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });
});

describe("create --file with an @EXPLICIT list", () => {
  async function checksums(): Promise<Record<string, { md5: string; sha256: string }>> {
    const doc = JSON.parse((await dryRun("micromamba", path.join(tmp, "x"), "tinyapp")).stdout);
    return Object.fromEntries((doc.actions.LINK as Array<{ fn: string; md5: string; sha256: string }>).map((l) => [l.fn, l]));
  }
  const explicit = (lines: string[]) => {
    const file = path.join(tmp, "explicit.txt");
    fs.writeFileSync(file, `# platform: linux-64\n@EXPLICIT\n${lines.join("\n")}\n`);
    return file;
  };

  it.each([
    ["conda", (p: string, f: string) => ["create", "-p", p, "--file", f, "--no-default-packages", "--yes", "--json"]],
    ["micromamba", (p: string, f: string) => ["create", "-p", p, "-f", f, "-y", "--json"]],
  ] as const)("%s installs exactly the listed packages without solving", async (face, args) => {
    const sums = await checksums();
    const before = solves();
    const file = explicit([
      `${url("python-3.11.7-fake_0.tar.bz2")}#sha256:${sums["python-3.11.7-fake_0.tar.bz2"]!.sha256}`,
      url("tinytool-0.1-0.tar.bz2"),
    ]);
    const prefix = path.join(tmp, "e");
    const run = await runFakePm(face, args(prefix, file), { env: env() });
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(fs.readdirSync(path.join(prefix, "conda-meta")).filter((n) => n.endsWith(".json")).sort()).toEqual(["python-3.11.7-fake_0.json", "tinytool-0.1-0.json"]);
    expect(solves()).toBe(before);
    // conda's explicit install prints no JSON result document; libmamba's transaction does.
    if (face === "conda") expect(run.stdout).not.toContain('"success"');
    else expect(JSON.parse(run.stdout).success).toBe(true);
  });

  it.each([
    ["conda", (p: string, f: string) => ["create", "-p", p, "--file", f, "--yes", "--json"], (run: { stdout: string; stderr: string }) => JSON.parse(run.stdout).exception_name === "CondaHTTPError"],
    ["micromamba", (p: string, f: string) => ["create", "-p", p, "-f", f, "-y", "--json"], (run: { stdout: string; stderr: string }) => run.stderr.startsWith("critical libmamba")],
  ] as const)("%s fails naming a URL the channel does not have, and leaves no prefix", async (face, args, shaped) => {
    const gone = url("tinylib-9.9-py_0.tar.bz2");
    const prefix = path.join(tmp, "e");
    const run = await runFakePm(face, args(prefix, explicit([gone])), { env: env() });
    expect(run.exitCode).toBe(1);
    expect(shaped(run)).toBe(true);
    expect(run.stdout + run.stderr).toContain(gone);
    expect(fs.existsSync(prefix)).toBe(false);
  });

  it("refuses a package whose checksum does not match (conda ChecksumMismatchError, libmamba incorrect download)", async () => {
    const wrong = `${url("tinytool-0.1-0.tar.bz2")}#${"0".repeat(32)}`;
    const conda = await runFakePm("conda", ["create", "-p", path.join(tmp, "a"), "--file", explicit([wrong]), "--yes", "--json"], { env: env() });
    expect(JSON.parse(conda.stdout)).toMatchObject({ exception_name: "ChecksumMismatchError", url: url("tinytool-0.1-0.tar.bz2") });
    const mm = await runFakePm("micromamba", ["create", "-p", path.join(tmp, "b"), "-f", explicit([wrong]), "-y", "--json"], { env: env() });
    expect(mm.stderr).toContain("Found incorrect download: tinytool");
  });
});
