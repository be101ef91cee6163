// `create` / `env create`: gather specs and channels, solve, extract into the package cache, link into the
// prefix, write conda-meta, run the pip section. Failures are thrown as PmFailure for render-*.mjs.
import fs from "node:fs";
import path from "node:path";
import { loadCacheIndex, loadChannelIndex, resolveChannel, HOST_SUBDIR } from "./channels.mjs";
import { addsPipOnlyToRequestedPython, configuredChannels, envsDirs, isCondaCreateAlias, pkgsDirs } from "./faces.mjs";
import { readSpecFile } from "./env-file.mjs";
import { PmFailure } from "./failure.mjs";
import { linkPackage, writeCondaMetaRecord } from "./link.mjs";
import { extractIntoCache, sleep } from "./pkgs-cache.mjs";
import { installPipSection } from "./pip-section.mjs";
import { appendHistoryLink, finishCondaMeta, preparePrefix, startCondaMeta } from "./prefix.mjs";
import { probeBasePython } from "./python-probe.mjs";
import { parseMatchSpec, SpecSyntaxError } from "./match-spec.mjs";
import { solve } from "./solver.mjs";

export async function runCreate({ flavour, command, opts, env, knobs, progress, historyArgv }) {
  const request = gatherRequest(flavour, command, opts, env);
  const prefix = request.prefix;
  const pkgs = pkgsDirs(flavour, env, opts);
  let records;
  if (request.explicit) {
    // An @EXPLICIT list: exactly those URLs, checked against their checksums; no channels, no solve.
    records = resolveExplicit(request.explicit);
    if (opts.dryRun) return;
    preparePrefix(prefix, { yes: Boolean(opts.yes), style: flavour.style });
    progress.planned(records, [], [], prefix);
  } else {
    if (!opts.dryRun) preparePrefix(prefix, { yes: Boolean(opts.yes), style: flavour.style });
    const index =
      flavour.style === "libmamba" && opts.offline
        ? loadCacheIndex(pkgs)
        : loadChannelIndex(request.channels.map(resolveChannel), { skipUnreachable: Boolean(opts.offline) });
    const channelUrls = index.channels.map((c) => c.url);
    records = request.specs.length ? solve(index, request.specs, { channelUrls, pipOnlyForRequestedPython: addsPipOnlyToRequestedPython(flavour) }) : [];
    if (request.specs.length) recordSolve(env, flavour);
    progress.planned(records, request.specs, index.channels, prefix);
    if (opts.dryRun) {
      progress.finished({ actions: dryRunActions(flavour, records, pkgs[0]), dryRun: true });
      return;
    }
  }
  const fetched = [];
  const extracted = await extractIntoCache(records, pkgs[0], knobs, (rec) => {
    fetched.push(rec);
    progress.extracted(rec);
  });
  startCondaMeta(prefix, { argv: historyArgv, flavour, specs: request.specs });
  const python = records.length ? lazyPython() : undefined;
  progress.linkStarted();
  if (knobs.crashAfter === 0) process.kill(process.pid, "SIGKILL");
  let linked = 0;
  for (const rec of records) {
    if (knobs.delayMs > 0) await sleep(knobs.delayMs);
    const dir = extracted.get(rec.dist);
    const files = linkPackage(prefix, dir, rec, python);
    const requested = request.specs.find((s) => s.name === rec.name);
    writeCondaMetaRecord(prefix, rec, dir, files, requested?.raw);
    appendHistoryLink(prefix, rec);
    progress.linked(rec);
    linked += 1;
    // A crash mid-transaction leaves a partial prefix, as an OOM kill of a real create would.
    if (knobs.crashAfter !== undefined && linked >= knobs.crashAfter) process.kill(process.pid, "SIGKILL");
  }
  progress.linkDone();
  finishCondaMeta(prefix, { specs: request.specs, flavour, variables: request.variables, env });
  // conda's explicit install returns without a JSON result (conda/misc.py install_explicit_packages).
  if (request.explicit && flavour.style === "conda") return;
  const actions = { FETCH: fetched.map(actionEntry), LINK: records.map(actionEntry) };
  if (request.pip.length) {
    await installPipSection(prefix, request.pip, {
      style: flavour.style,
      major: Number.parseInt(flavour.version, 10),
      envFileDir: request.envFileDir,
      quiet: Boolean(opts.quiet),
      json: Boolean(opts.json),
      onStart: (args) => progress.pipStarted(args),
    });
    actions.PIP = request.pip;
  }
  progress.finished({ actions });
}

/** Specs, channels, pip lines, variables and the target prefix, from argv and the -f files. */
function gatherRequest(flavour, command, opts, env) {
  const files = [...opts.file];
  if (command === "env create" && files.length === 0 && flavour.style === "conda") files.push("environment.yml");
  if (command === "env create" && files.length !== 1) {
    throw new PmFailure("usage", { conda: "argument -f/--file: expected one argument", libmamba: "-f,--file: 1 required TEXT missing" });
  }
  const allowYaml = !(flavour.mamba1 && command === "create");
  const parsedFiles = files.map((f) => readSpecFile(f, { allowYaml }));
  const explicitFile = parsedFiles.find((f) => f.explicit);
  if (explicitFile && command === "create") return { prefix: targetPrefix(flavour, env, opts, undefined), explicit: explicitFile.explicit, specs: [], channels: [], pip: [], variables: {}, envFileDir: process.cwd() };
  const specs = opts.specs.map(parseCliSpec);
  for (const f of parsedFiles) specs.push(...f.specs);
  if (specs.length === 0 && flavour.style === "conda" && command === "create") throw new PmFailure("no-specs", {});
  warnAboutUnlistedPip(flavour, parsedFiles);
  const fileChannels = parsedFiles.flatMap((f) => f.channels);
  const specChannels = specs.filter((s) => s.channel).map((s) => s.channel);
  let channels = [...opts.channel, ...fileChannels, ...specChannels];
  // Only conda's old env installers (23.7–26.5, and mamba 1 which wraps them) strip `nodefaults`; conda ≥ 26.7's
  // create resolves it like any name (<channel_alias>/nodefaults → UnavailableInvalidChannel).
  const stripsNodefaults = !isCondaCreateAlias(flavour);
  const noDefaults = stripsNodefaults && channels.includes("nodefaults");
  if (stripsNodefaults) channels = channels.filter((c) => c !== "nodefaults");
  if (!opts.overrideChannels && !noDefaults) channels.push(...configuredChannels(flavour, env, opts));
  if (channels.length === 0 && flavour.face === "mamba" && flavour.style === "libmamba") channels.push("conda-forge");
  if (channels.length === 0 && isCondaCreateAlias(flavour)) throw new PmFailure("no-channels", {});
  // anaconda.org answers 404 for the name `nodefaults`, measured on 26.7.1: the create fails before solving.
  if (channels.includes("nodefaults")) throw new PmFailure("channel-invalid", { channel: resolveChannel("nodefaults"), reason: "404" });
  channels = dedupe(channels, (c) => resolveChannel(c).url);
  return {
    prefix: targetPrefix(flavour, env, opts, parsedFiles.find((f) => f.name)?.name),
    specs,
    channels,
    pip: parsedFiles.flatMap((f) => f.pip),
    variables: Object.assign({}, ...parsedFiles.map((f) => f.variables)),
    envFileDir: parsedFiles.find((f) => f.pip.length)?.dir ?? process.cwd(),
  };
}

function targetPrefix(flavour, env, opts, fileName) {
  const name = opts.name ?? fileName;
  if (opts.prefix) return path.resolve(opts.prefix);
  if (name) return path.join(envsDirs(flavour, env, opts)[0], name);
  throw new PmFailure("usage", {
    conda: "one of the arguments -n/--name -p/--prefix is required",
    libmamba: "--prefix,--name: no target prefix given (pass -p PREFIX or -n NAME)",
  });
}

/** Each explicit URL must name an archive its channel's repodata lists, with a matching checksum. */
function resolveExplicit(lines) {
  const indexes = new Map();
  return lines.map((line) => {
    const channelUrl = line.url.split("/").slice(0, -2).join("/");
    const channel = resolveChannel(channelUrl);
    if (!channel.dir) throw new PmFailure("explicit-missing", { url: line.url, status: "000" });
    if (!indexes.has(channelUrl)) {
      try {
        indexes.set(channelUrl, loadChannelIndex([channel]));
      } catch {
        indexes.set(channelUrl, { records: [] });
      }
    }
    const rec = indexes.get(channelUrl).records.find((r) => r.url === line.url);
    if (!rec) throw new PmFailure("explicit-missing", { url: line.url, status: 404 });
    if ((line.md5 && line.md5 !== rec.md5) || (line.sha256 && line.sha256 !== rec.sha256)) {
      throw new PmFailure("checksum-mismatch", { url: line.url, record: rec, expected: line.md5 ?? line.sha256, actual: line.md5 ? rec.md5 : rec.sha256 });
    }
    return rec;
  });
}

/** FAKE_PM_SOLVE_LOG=<file>: one JSON line per solve, so tests can prove a create from a lock solved nothing. */
function recordSolve(env, flavour) {
  if (!env.FAKE_PM_SOLVE_LOG) return;
  fs.appendFileSync(env.FAKE_PM_SOLVE_LOG, `${JSON.stringify({ time: new Date().toISOString(), face: flavour.face, pid: process.pid })}\n`);
}

/**
 * A dry run's actions as each tool prints them. conda: LINK is `dist_fields_dump()` (no url, no checksum);
 * FETCH the full records of packages not in the package cache. libmamba: LINK and FETCH are full records
 * (url, md5, sha256, ...), FETCH again only what the cache lacks.
 */
function dryRunActions(flavour, records, pkgsDir) {
  const cold = records.filter((r) => !fs.existsSync(path.join(pkgsDir, r.dist, "info", "repodata_record.json")));
  const full = (rec) => {
    const { payloadDir: _p, channelIndex: _i, dist: _d, ...record } = rec;
    return { ...record, build_string: rec.build };
  };
  if (flavour.style === "conda") {
    return { FETCH: cold.map(full), LINK: records.map(condaLinkEntry) };
  }
  return { FETCH: cold.map(full), LINK: records.map(full) };
}

function condaLinkEntry(rec) {
  const { url: _url, ...entry } = actionEntry(rec);
  return entry;
}

/** conda's env loader (conda/env/env.py, 23.7 through 26.7) prints this on stdout, before any --json document. */
function warnAboutUnlistedPip(flavour, parsedFiles) {
  if (flavour.style !== "conda") return;
  const withPip = parsedFiles.filter((f) => f.pip.length > 0);
  if (withPip.length === 0 || withPip.some((f) => f.specs.some((s) => s.name === "pip"))) return;
  process.stdout.write(
    "Warning: you have pip-installed dependencies in your environment file, but you do not list pip itself as one of your conda dependencies.  " +
      "Conda may not use the correct pip to install your packages, and they may end up in the wrong place.  " +
      "Please add an explicit pip dependency.  I'm adding one for you, but still nagging you.\n",
  );
}

function parseCliSpec(text) {
  try {
    return parseMatchSpec(text);
  } catch (err) {
    if (err instanceof SpecSyntaxError) throw new PmFailure("bad-env-file", { message: `Invalid spec: ${err.message}` });
    throw err;
  }
}

function dedupe(items, key) {
  const seen = new Set();
  return items.filter((item) => {
    const k = key(item);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function actionEntry(rec) {
  return {
    base_url: rec.channel,
    build_number: rec.build_number ?? 0,
    build_string: rec.build,
    channel: rec.channel,
    dist_name: rec.dist,
    name: rec.name,
    platform: rec.subdir ?? HOST_SUBDIR,
    version: rec.version,
    url: rec.url,
  };
}

// Only creates that link python-aware packages need the base interpreter probed.
function lazyPython() {
  let probe;
  const get = () => (probe ??= probeBasePython());
  return new Proxy({}, { get: (_target, key) => get()[key] });
}
