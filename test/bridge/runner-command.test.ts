/** The runner command (argv, env, stdio) and where the Python side is found; the Python side's 3.8 syntax. */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { locateBridgePython, locateRunner } from "../../src/bridge/locate.js";
import { BRIDGE_FD, buildRunnerCommand } from "../../src/bridge/runner-command.js";
import { PYTHON } from "./helpers.js";

describe("buildRunnerCommand", () => {
  it("runs the env's python unbuffered on the runner with the entry point, channel on fd 3", () => {
    const command = buildRunnerCommand({ pythonPath: "/envs/abc/bin/python", entryPoint: "src/main.py", cwd: "/work/app" });
    expect(command.file).toBe("/envs/abc/bin/python");
    expect(command.args).toEqual(["-u", locateRunner(), "/work/app/src/main.py"]);
    expect(command.env).toMatchObject({ HYPHA_BRIDGE_FD: String(BRIDGE_FD), PYTHONUNBUFFERED: "1" });
    expect(command.stdio).toEqual(["ignore", "pipe", "pipe", "pipe"]);
  });

  it.each([
    ["an absolute entry point", { entryPoint: "/etc/passwd.py" }, /relative path/],
    ["an entry point outside the app", { entryPoint: "../other/main.py" }, /relative path/],
    ["an entry point that is not a .py file", { entryPoint: "main.sh" }, /\.py file/],
    ["an entry point that looks like a flag", { entryPoint: "-c.py" }, /relative path/],
    ["an empty entry point", { entryPoint: "" }, /relative path/],
    ["a relative python", { pythonPath: "python3" }, /absolute path to the env's python/],
    ["a relative cwd", { cwd: "app" }, /must be an absolute path/],
  ])("rejects %s", (_name, override, pattern) => {
    const input = { pythonPath: "/envs/abc/bin/python", entryPoint: "main.py", cwd: "/work/app", ...override };
    expect(() => buildRunnerCommand(input)).toThrow(pattern);
  });
});

describe("the Python side", () => {
  it("is found next to the module (src/ under vitest; the build copies it to dist/)", () => {
    const dir = locateBridgePython();
    expect(existsSync(join(dir, "runner.py"))).toBe(true);
    expect(existsSync(join(dir, "lib", "hypha_rpc", "sync.py"))).toBe(true);
  });

  it("parses as Python 3.8 and imports only the standard library (numpy optional)", () => {
    const dir = locateBridgePython();
    const files = [join(dir, "runner.py"), ...["hypha_bridge", "hypha_rpc"].flatMap((pkg) => readdirSync(join(dir, "lib", pkg)).filter((f) => f.endsWith(".py")).map((f) => join(dir, "lib", pkg, f)))];
    const script = [
      "import ast, sys",
      "allowed_local = {'hypha_bridge', 'hypha_rpc', 'numpy'}",
      "bad = []",
      "for path in sys.argv[1:]:",
      "    tree = ast.parse(open(path).read(), path, feature_version=(3, 8))",
      "    for node in ast.walk(tree):",
      "        names = [a.name for a in node.names] if isinstance(node, ast.Import) else ([node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])",
      "        for name in names:",
      "            top = name.split('.')[0]",
      "            if top not in allowed_local and top not in sys.stdlib_module_names: bad.append((path, name))",
      "print(bad)",
    ].join("\n");
    expect(execFileSync(PYTHON, ["-c", script, ...files], { encoding: "utf8" }).trim()).toBe("[]");
  });
});
