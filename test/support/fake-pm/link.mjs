// Linking extracted packages into a prefix, the way conda lays an env out: noarch python files into
// lib/pythonX.Y/site-packages, entry points as scripts with an absolute shebang, a conda-meta record each.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

// Linux refuses shebang lines longer than this (or with spaces); conda then uses a /bin/sh trampoline.
const MAX_SHEBANG = 127;

/** Links one package; returns the prefix-relative paths it created. */
export function linkPackage(prefix, extractedDir, record, python) {
  const fakeLink = readJson(path.join(extractedDir, "info", "fake-pm.json"))?.link;
  const files = [];
  if (fakeLink === "python-venv") files.push(...createVenv(prefix, python));
  if (fakeLink === "pip-from-base") files.push(...exposeBasePip(prefix, python));
  for (const rel of listPayloadFiles(extractedDir)) {
    const target = targetPath(rel, record, python);
    const abs = path.join(prefix, target);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.rmSync(abs, { force: true });
    fs.copyFileSync(path.join(extractedDir, rel), abs);
    if (target.startsWith("bin/")) fs.chmodSync(abs, 0o755);
    files.push(target);
  }
  const linkJson = readJson(path.join(extractedDir, "info", "link.json"));
  for (const entryPoint of linkJson?.noarch?.entry_points ?? []) {
    files.push(writeEntryPoint(prefix, entryPoint, python));
  }
  return files;
}

/** The conda-meta/<dist>.json record. */
export function writeCondaMetaRecord(prefix, record, extractedDir, files, requestedSpec) {
  const digest = (algo) => crypto.createHash(algo).update(JSON.stringify([record.dist, files])).digest("hex");
  const meta = {
    name: record.name,
    version: record.version,
    build: record.build,
    build_number: record.build_number ?? 0,
    build_string: record.build,
    channel: record.channel,
    url: record.url,
    fn: record.fn,
    subdir: record.subdir,
    noarch: record.noarch,
    license: record.license,
    depends: record.depends,
    md5: record.md5 ?? digest("md5"),
    sha256: record.sha256 ?? digest("sha256"),
    files,
    paths_data: { paths: files.map((f) => ({ _path: f, path_type: "hardlink" })), paths_version: 1 },
    requested_spec: requestedSpec ?? "",
    extracted_package_dir: extractedDir,
    package_tarball_full_path: `${extractedDir}.tar.bz2`,
    link: { source: extractedDir, type: 1 },
  };
  const file = path.join(prefix, "conda-meta", `${record.dist}.json`);
  fs.writeFileSync(file, `${JSON.stringify(meta, null, 2)}\n`);
}

function createVenv(prefix, python) {
  const bin = path.join(prefix, "bin");
  const sitePackages = path.join(prefix, "lib", `python${python.short}`, "site-packages");
  fs.mkdirSync(bin, { recursive: true });
  fs.mkdirSync(sitePackages, { recursive: true });
  const versioned = `python${python.short}`;
  for (const [name, target] of [[versioned, python.executable], ["python3", versioned], ["python", versioned]]) {
    fs.rmSync(path.join(bin, name), { force: true });
    fs.symlinkSync(target, path.join(bin, name));
  }
  const cfg = [
    `home = ${path.dirname(python.executable)}`,
    "include-system-site-packages = false",
    `version = ${python.version}`,
    `executable = ${python.executable}`,
    "",
  ].join("\n");
  fs.writeFileSync(path.join(prefix, "pyvenv.cfg"), cfg);
  return [`bin/${versioned}`, "bin/python3", "bin/python", "pyvenv.cfg"];
}

// Only the base pip package is exposed: a private dir holding a symlink to it, put on sys.path by a .pth
// file. Site-packages comes first, so a pip installed into the env later shadows it and nothing is ever
// written through the symlink into the base interpreter.
function exposeBasePip(prefix, python) {
  if (!python.pipDir) {
    throw new Error(`fake package manager: ${python.command} has no pip to expose; install pip for it`);
  }
  const dirRel = `lib/python${python.short}/fake-pm-base-pip`;
  const linkRel = `${dirRel}/pip`;
  const pthRel = `lib/python${python.short}/site-packages/fake-pm-base-pip.pth`;
  fs.mkdirSync(path.join(prefix, dirRel), { recursive: true });
  fs.mkdirSync(path.dirname(path.join(prefix, pthRel)), { recursive: true });
  fs.rmSync(path.join(prefix, linkRel), { force: true, recursive: true });
  fs.symlinkSync(python.pipDir, path.join(prefix, linkRel));
  fs.writeFileSync(path.join(prefix, pthRel), `${path.join(prefix, dirRel)}\n`);
  const scripts = ["pip = pip._internal.cli.main:main", "pip3 = pip._internal.cli.main:main"];
  return [linkRel, pthRel, ...scripts.map((ep) => writeEntryPoint(prefix, ep, python))];
}

function writeEntryPoint(prefix, entryPoint, python) {
  const m = /^\s*([A-Za-z0-9_.-]+)\s*=\s*([A-Za-z0-9_.]+):([A-Za-z0-9_.]+)\s*$/.exec(entryPoint);
  if (!m) throw new Error(`fake package manager: bad entry point ${JSON.stringify(entryPoint)}`);
  const [, name, module, func] = m;
  const interpreter = path.join(prefix, "bin", `python${python.short}`);
  const shebang = `#!${interpreter}`;
  const head =
    shebang.length <= MAX_SHEBANG && !/\s/.test(interpreter) ? [shebang] : ["#!/bin/sh", `'''exec' "${interpreter}" "$0" "$@"`, "' '''"];
  const body = [
    "# Console script generated by the fake package manager for this prefix.",
    "import sys",
    `from ${module} import ${func.split(".")[0]} as _entry`,
    "",
    "if __name__ == '__main__':",
    `    sys.exit(_entry${func.includes(".") ? func.slice(func.indexOf(".")) : ""}())`,
    "",
  ];
  const rel = `bin/${name}`;
  fs.writeFileSync(path.join(prefix, rel), [...head, ...body].join("\n"), { mode: 0o755 });
  fs.chmodSync(path.join(prefix, rel), 0o755);
  return rel;
}

function targetPath(rel, record, python) {
  if (record.noarch === "python") {
    if (rel.startsWith("site-packages/")) return `lib/python${python.short}/${rel}`;
    if (rel.startsWith("python-scripts/")) return `bin/${rel.slice("python-scripts/".length)}`;
  }
  return rel;
}

function listPayloadFiles(dir, rel = "") {
  const out = [];
  for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const childRel = rel ? `${rel}/${entry.name}` : entry.name;
    if (!rel && entry.name === "info") continue;
    if (entry.isDirectory()) out.push(...listPayloadFiles(dir, childRel));
    else out.push(childRel);
  }
  return out.sort();
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
}
