/**
 * Keeps the README walkthrough true: every command in its ```bash blocks (between the walkthrough markers)
 * is run, in order, against the fake package managers, the fixture channel (mapped as conda-forge) and a
 * Hypha test server whose URL, workspace and token stand in for the README's $HYPHA_* placeholders.
 * Commands marked "# runs until Ctrl-C" are started, checked, then sent SIGINT like a terminal would.
 * npm lifecycle lines are not re-run: their scripts must exist in package.json. A command added to the
 * walkthrough that does not work fails this file.
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa, type ResultPromise } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectToHypha, type HyphaServer } from "../../src/hypha/connect.js";
import { fakeCliEnv } from "../support/fake-pm.js";
import { startHyphaTestServer, type HyphaTestServer } from "../support/hypha-server.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PACKAGE = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { bin?: Record<string, string>; scripts?: Record<string, string> };
const START = "<!-- walkthrough:start -->";
const END = "<!-- walkthrough:end -->";
/** The placeholders the README may use; the test server provides their values. */
const PLACEHOLDERS = ["HYPHA_SERVER_URL", "HYPHA_WORKSPACE", "HYPHA_TOKEN"];
const COMMAND_TIMEOUT_MS = 120_000;

export interface WalkthroughCommand {
  /** The command as the README shows it (continuations joined, trailing comment removed). */
  text: string;
  comment: string;
  longRunning: boolean;
}

/** Returns the README text between the walkthrough markers. */
export function walkthroughSection(readme: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${START} ... ${END} section`);
  return readme.slice(start + START.length, end);
}

/** Removes a trailing "# comment" that is outside quotes; returns [command, comment]. */
function splitComment(line: string): [string, string] {
  let quote: string | undefined;
  for (let i = 0; i < line.length; i += 1) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === "#" && (i === 0 || /\s/.test(line[i - 1]!))) return [line.slice(0, i).trim(), line.slice(i + 1).trim()];
  }
  return [line.trim(), ""];
}

/** Every command of every ```bash block, in order. */
export function extractCommands(section: string): WalkthroughCommand[] {
  const commands: WalkthroughCommand[] = [];
  for (const block of section.matchAll(/```bash\n([\s\S]*?)```/g)) {
    const lines = block[1]!.replace(/\\\n\s*/g, " ").split("\n");
    for (const line of lines) {
      const [text, comment] = splitComment(line);
      if (text === "") continue;
      commands.push({ text, comment, longRunning: /Ctrl-C/i.test(comment) });
    }
  }
  return commands;
}

const section = walkthroughSection(readFileSync(path.join(ROOT, "README.md"), "utf8"));
const commands = extractCommands(section);
const BIN = PACKAGE.bin?.["hypha-conda-worker"];

/**
 * `npx hypha-conda-worker` runs the package's own bin; the test runs that bin directly. (npx on the project
 * itself may first re-run its `prepare` build into dist/, which must not happen while other tests run.)
 */
function toShell(text: string): string {
  return text.replace(/^npx hypha-conda-worker(?=\s|$)/, `node ${BIN}`);
}

interface Outcome {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
}

/** What a command must show beyond exit code 0, matched on the README text. */
const EXPECTATIONS: Array<{ pattern: RegExp; check: (r: Outcome) => void }> = [
  { pattern: /run fixtures\/apps\/service .*--call default\.add '\[1, 2\]'/, check: (r) => expect(r.stdout.trim()).toBe("3") },
  { pattern: /run fixtures\/apps\/hello$/, check: (r) => expect(r.stdout).toContain("Hello from hypha-conda-worker!") },
  { pattern: /hypha-conda-worker prewarm /, check: (r) => expect(r.stdout).toMatch(/(\d+) of \1 env\(s\) ready/) },
  {
    pattern: /^scripts\/prewarm .*--json/,
    check: (r) => {
      const lines = r.stdout.trim().split("\n").map((line) => JSON.parse(line) as { status: string });
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) expect(["created", "cached"]).toContain(line.status);
    },
  },
  { pattern: /cache list$/, check: (r) => expect(r.stdout).toMatch(/[1-9]\d* env\(s\)/) },
  { pattern: /doctor$/, check: (r) => expect(r.stdout).toMatch(/OK/) },
  { pattern: /run fixtures\/apps\/counter/, check: (r) => expect(r.stdout).toMatch(/count \d+/) },
  { pattern: /run fixtures\/apps\/service(?!.*--call)/, check: (r) => expect(r.stderr).toMatch(/service ready: \S+:default/) },
];

let tmp: string;
let server: HyphaTestServer;
let env: Record<string, string>;
let observer: HyphaServer | undefined;
const children: ResultPromise[] = [];

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "hcw-walkthrough-"));
  server = await startHyphaTestServer();
  const workspace = "ws-user-newcomer";
  // Nothing of the developer's own Hypha settings may leak into these runs.
  env = fakeCliEnv(tmp);
  Object.assign(env, { HYPHA_SERVER_URL: server.url, HYPHA_WORKSPACE: workspace, HYPHA_TOKEN: server.issueToken({ workspace, userId: "newcomer" }) });
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  await observer?.disconnect().catch(() => undefined);
  await server?.stop();
  await rm(tmp, { recursive: true, force: true });
});

function checkExpectations(command: WalkthroughCommand, outcome: Outcome): void {
  for (const { pattern, check } of EXPECTATIONS) if (pattern.test(command.text)) check(outcome);
}

async function runToEnd(command: WalkthroughCommand): Promise<Outcome> {
  const r = await execa("bash", ["-c", toShell(command.text)], { cwd: ROOT, env, extendEnv: false, reject: false, stdin: "ignore", timeout: COMMAND_TIMEOUT_MS });
  return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** Starts a long-running command in its own process group, waits until it is up, then sends SIGINT to the group. */
async function runUntilCtrlC(command: WalkthroughCommand): Promise<Outcome & { ready: string }> {
  const child = execa("bash", ["-c", toShell(command.text)], { cwd: ROOT, env, extendEnv: false, reject: false, stdin: "ignore", detached: true, buffer: false });
  children.push(child);
  let stdout = "";
  let stderr = "";
  const isServe = /\sserve(\s|$)/.test(command.text);
  const ready = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`"${command.text}" was not up within ${COMMAND_TIMEOUT_MS / 1000} s:\n${stdout}\n${stderr}`)), COMMAND_TIMEOUT_MS);
    const check = () => {
      // serve: its service id on stdout. run: the app is running and has printed something.
      const up = isServe ? /^\S+\n/.exec(stdout)?.[0] : /✓ running:/.test(stderr) && /\S/.test(stdout) ? stdout : undefined;
      const serving = /run fixtures\/apps\/service/.test(command.text) ? /service ready:/.test(stderr) : true;
      // The counter must have counted once before Ctrl-C, or its output cannot show that it ran.
      const counting = /run fixtures\/apps\/counter/.test(command.text) ? /count \d+/.test(stdout) : true;
      if (up && serving && counting) {
        clearTimeout(timer);
        resolve(up.trim());
      }
    };
    child.stdout!.on("data", (chunk: Buffer) => { stdout += chunk.toString(); check(); });
    child.stderr!.on("data", (chunk: Buffer) => { stderr += chunk.toString(); check(); });
    void child.then((r) => {
      clearTimeout(timer);
      reject(new Error(`"${command.text}" exited (${r.exitCode}) instead of running until Ctrl-C:\n${stdout}\n${stderr}`));
    });
  });
  if (isServe) {
    observer = await connectToHypha({ server_url: server.url, token: env.HYPHA_TOKEN!, workspace: env.HYPHA_WORKSPACE! });
    const worker = await observer.getService(ready);
    expect(worker.type).toBe("server-app-worker");
  }
  process.kill(-child.pid!, "SIGINT");
  const result = await child;
  return { exitCode: result.exitCode, stdout, stderr, ready };
}

describe("README walkthrough", () => {
  it("has commands for every step a newcomer needs", () => {
    const texts = commands.map((c) => c.text);
    const has = (pattern: RegExp) => expect(texts.some((t) => pattern.test(t)), `the walkthrough shows a command matching ${pattern}`).toBe(true);
    has(/^npm install$/);
    has(/^npx hypha-conda-worker run fixtures\/apps\/service --call default\.add '\[1, 2\]'$/);
    has(/run fixtures\/apps\/hello$/);
    has(/run fixtures\/apps\/counter/);
    has(/ serve .*--visibility public/);
    has(/ prewarm /);
    has(/^scripts\/prewarm /);
    has(/ cache list/);
    has(/ cache gc/);
    has(/ doctor/);
    has(/^npm test$/);
    has(/^npm run bench$/);
    expect(BIN, "package.json maps the hypha-conda-worker bin").toBeTruthy();
    expect(existsSync(path.join(ROOT, BIN!)), `${BIN} is built (npm test builds it)`).toBe(true);
  });

  it("uses no shell variable the test cannot provide", () => {
    for (const command of commands) {
      for (const match of command.text.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)) {
        expect(PLACEHOLDERS, `"${command.text}" uses $${match[1]}`).toContain(match[1]);
      }
    }
  });

  for (const command of commands) {
    const npm = /^npm (?:(install|ci|test)|run ([\w:-]+))$/.exec(command.text);
    if (npm) {
      it(`${command.text} (npm: script exists, not re-run)`, () => {
        if (npm[1] === "install" || npm[1] === "ci") expect(PACKAGE.scripts?.prepare ?? PACKAGE.scripts?.build, "npm install builds the package").toBeTruthy();
        else expect(PACKAGE.scripts?.[npm[1] ?? npm[2]!], `package.json has the script for "${command.text}"`).toBeTruthy();
      });
      continue;
    }
    if (/^npm\s/.test(command.text)) {
      it(`${command.text}`, () => {
        throw new Error(`unrecognised npm command in the walkthrough: "${command.text}"; use npm install, npm test or npm run <script>`);
      });
      continue;
    }
    it(command.longRunning ? `${command.text} (until Ctrl-C)` : command.text, async () => {
      let outcome: Outcome;
      if (command.longRunning) {
        outcome = await runUntilCtrlC(command);
        const expected = /\sserve(\s|$)/.test(command.text) ? 0 : 130;
        expect(outcome.exitCode, outcome.stderr).toBe(expected);
      } else {
        outcome = await runToEnd(command);
        expect(outcome.exitCode, `${command.text}\n${outcome.stderr}`).toBe(0);
      }
      checkExpectations(command, outcome);
      expect(outcome.stdout + outcome.stderr, "the token never shows in output").not.toContain(env.HYPHA_TOKEN);
    }, COMMAND_TIMEOUT_MS + 30_000);
  }
});
