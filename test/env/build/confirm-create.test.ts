// What a create that exited 0 printed, in the shapes measured on real conda 26.7.1 racing three creates on
// one cold package cache (6 rounds: one run exited 0 without an env; two exited 0 with a CondaMultiError
// document before their success document, and their envs were whole).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { findUnconfirmedCreate } from "../../../src/env/build/confirm-create.js";

let dir: string;
let prefix: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "hcw-confirm-"));
  prefix = path.join(dir, "env");
});
afterEach(() => fs.rm(dir, { recursive: true, force: true }));

const JSON_FACE = { json: true };
const corruptLine = (pkgs: string) => `ERROR: Encountered corrupt package tarball at ${pkgs}/pip-26.2.1-py_0.tar.bz2. Conda has left it in place. Please report this to the maintainers of the package.\n`;
const safety = (pkgs: string) => ({
  exception_name: "SafetyError",
  message: `The package for pip located at ${pkgs}/pip-26.2.1-py_0\nappears to be corrupted. The path 'site-packages/pip/_vendor/idna/uts46data.py'\nhas an incorrect size.\n  reported size: 234325 bytes\n  actual size: 0 bytes\n`,
});
const success = (p: string) => ({ actions: { LINK: [{ dist_name: "pip-26.2.1-py_0", name: "pip" }] }, prefix: p, success: true });
const makeEnv = async () => {
  await fs.mkdir(path.join(prefix, "conda-meta"), { recursive: true });
  await fs.writeFile(path.join(prefix, "conda-meta", "history"), "==> 2026-12-03 15:55:00 <==\n");
};

describe("findUnconfirmedCreate", () => {
  it("an ERROR line and no JSON result (the env was not made) is not a create", async () => {
    expect(await findUnconfirmedCreate({ stdout: corruptLine(path.join(dir, "pkgs")) }, prefix, JSON_FACE)).toBe("it printed no JSON result");
  });

  it("a CondaMultiError document followed by the success document, with the env made, is a create", async () => {
    await makeEnv();
    const multi = { error: "Multiple Errors Encountered.", errors: [safety(path.join(dir, "pkgs"))], exception_name: "CondaMultiError" };
    const stdout = `${JSON.stringify(multi, null, 2)}\n${JSON.stringify(success(prefix), null, 2)}\n`;
    expect(await findUnconfirmedCreate({ stdout }, prefix, JSON_FACE)).toBeUndefined();
  });

  it("a success document without conda-meta/history, or a result that is not a success, is not a create", async () => {
    expect(await findUnconfirmedCreate({ stdout: JSON.stringify(success(prefix)) }, prefix, JSON_FACE)).toBe("the prefix has no conda-meta/history");
    await makeEnv();
    const stdout = JSON.stringify({ exception_name: "CondaSystemExit", message: "Exiting 1" });
    expect(await findUnconfirmedCreate({ stdout }, prefix, JSON_FACE)).toBe("its JSON result does not say success (CondaSystemExit)");
  });

  it("a face without JSON output is judged by the prefix alone", async () => {
    expect(await findUnconfirmedCreate({ stdout: "done\n" }, prefix, { json: false })).toBe("the prefix has no conda-meta/history");
    await makeEnv();
    expect(await findUnconfirmedCreate({ stdout: "done\n" }, prefix, { json: false })).toBeUndefined();
  });
});
