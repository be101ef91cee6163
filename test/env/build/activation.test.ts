import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { BASE_PATH, computeActivation } from "../../../src/env/build/activation.js";
import { hasCode } from "../../../src/errors.js";

let prefix: string;
beforeEach(async () => {
  prefix = await fs.mkdtemp(path.join(os.tmpdir(), "hcw-act-"));
});
afterEach(async () => {
  await fs.rm(prefix, { recursive: true, force: true });
});

async function script(name: string, body: string) {
  const dir = path.join(prefix, "etc", "conda", "activate.d");
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, name), body);
}

describe("computeActivation", () => {
  it("without scripts: PATH with PREFIX/bin first, CONDA_* and the spec's variables", async () => {
    const vars = await computeActivation(prefix, { variables: { MY_SETTING: "1" } });
    expect(vars).toMatchObject({ PATH: `${prefix}/bin:${BASE_PATH}`, CONDA_PREFIX: prefix, CONDA_DEFAULT_ENV: prefix, CONDA_SHLVL: "1", MY_SETTING: "1" });
  });

  it("captures what activate.d scripts export, in glob order, and nothing of the worker's environment", async () => {
    process.env.HCW_ACTIVATION_LEAK_CHECK = "leak";
    await script("10-a.sh", 'export A_HOME="$CONDA_PREFIX/share/a"\nexport ORDER=first\nfalse\n');
    await script("20-b.sh", 'export ORDER="$ORDER,second"\nexport PATH="$CONDA_PREFIX/extra:$PATH"\nexport WITH_NEWLINE="x\ny"\n');
    await script("ignored.txt", "export IGNORED=1\n");
    const vars = await computeActivation(prefix);
    delete process.env.HCW_ACTIVATION_LEAK_CHECK;
    expect(vars.A_HOME).toBe(`${prefix}/share/a`);
    expect(vars.ORDER).toBe("first,second");
    expect(vars.WITH_NEWLINE).toBe("x\ny");
    expect(vars.PATH).toBe(`${prefix}/extra:${prefix}/bin:${BASE_PATH}`);
    expect(vars).not.toHaveProperty("IGNORED");
    expect(vars).not.toHaveProperty("HCW_ACTIVATION_LEAK_CHECK");
    expect(vars).not.toHaveProperty("PWD");
    expect(vars).not.toHaveProperty("SHLVL");
  });

  it("a script that exits the shell is an E_ENV_VERIFY error", async () => {
    await script("bad.sh", "echo broken >&2\nexit 3\n");
    await expect(computeActivation(prefix)).rejects.toSatisfy((e) => hasCode(e, "E_ENV_VERIFY") && /broken/.test((e as Error).message));
  });
});
