// Channel resolution and repodata loading. Only file:// channels (or local paths) can be read: the fakes
// are offline like the machines they run on, so named channels and http(s) URLs are unreachable.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { PmFailure } from "./failure.mjs";

export const HOST_SUBDIR = hostSubdir();

function hostSubdir() {
  if (process.env.CONDA_SUBDIR) return process.env.CONDA_SUBDIR;
  const os = { linux: "linux", darwin: "osx", win32: "win" }[process.platform] ?? process.platform;
  const arch = { x64: "64", arm64: os === "osx" ? "arm64" : "aarch64", ppc64: "ppc64le" }[process.arch] ?? process.arch;
  return `${os}-${arch}`;
}

/** Turns a channel as given (-c, yml, spec prefix) into {given, url, dir?}. */
export function resolveChannel(given) {
  const text = String(given).trim().replace(/\/+$/, "");
  if (text.startsWith("file://")) {
    return { given, url: text, dir: fileURLToPath(text) };
  }
  if (path.isAbsolute(text)) {
    return { given, url: pathToFileURL(text).href.replace(/\/+$/, ""), dir: text };
  }
  if (/^https?:\/\//.test(text)) return { given, url: text };
  if (text === "defaults") return { given, url: "https://repo.anaconda.com/pkgs/main" };
  return { given, url: `https://conda.anaconda.org/${text}` };
}

/**
 * Loads every record of the channels, in priority order. `skipUnreachable` (conda --offline) drops network
 * channels instead of failing on them.
 */
export function loadChannelIndex(channels, { skipUnreachable = false } = {}) {
  const records = [];
  const used = [];
  channels.forEach((ch) => {
    if (!ch.dir) {
      if (skipUnreachable) return;
      throw new PmFailure("channel-unreachable", { channel: ch, url: `${ch.url}/${HOST_SUBDIR}/repodata.json` });
    }
    let found = false;
    for (const subdir of [HOST_SUBDIR, "noarch"]) {
      const file = path.join(ch.dir, subdir, "repodata.json");
      if (!fs.existsSync(file)) continue;
      found = true;
      let repodata;
      try {
        repodata = JSON.parse(fs.readFileSync(file, "utf8"));
      } catch (cause) {
        throw new PmFailure("channel-invalid", { channel: ch, url: pathToFileURL(file).href, reason: String(cause) });
      }
      const all = { ...(repodata.packages ?? {}), ...(repodata["packages.conda"] ?? {}) };
      for (const [fn, rec] of Object.entries(all)) {
        const payloadDir = path.join(ch.dir, subdir, fn.replace(/(\.tar\.bz2|\.conda)$/, ""));
        records.push({
          ...payloadDigests(payloadDir, rec),
          ...rec,
          depends: rec.depends ?? [],
          build_number: rec.build_number ?? 0,
          fn,
          subdir,
          channel: ch.url,
          channelIndex: used.length,
          url: `${ch.url}/${subdir}/${fn}`,
          dist: distName(rec),
          payloadDir,
        });
      }
    }
    if (!found) throw new PmFailure("channel-invalid", { channel: ch, url: `${ch.url}/noarch/repodata.json`, reason: "404" });
    used.push(ch);
  });
  return { records, channels: used };
}

/** The index micromamba/mamba 2 use with --offline: whatever the package caches hold, channels ignored. */
export function loadCacheIndex(pkgsDirs) {
  const records = [];
  for (const dir of pkgsDirs) {
    if (!fs.existsSync(dir)) throw new PmFailure("pkgs-dir-missing", { dir });
    for (const entry of fs.readdirSync(dir)) {
      const file = path.join(dir, entry, "info", "repodata_record.json");
      if (!fs.existsSync(file)) continue;
      const rec = JSON.parse(fs.readFileSync(file, "utf8"));
      records.push({ ...rec, channelIndex: 0, payloadDir: path.join(dir, entry), dist: distName(rec) });
    }
  }
  return { records, channels: [] };
}

export function distName(rec) {
  return `${rec.name}-${rec.version}-${rec.build}`;
}

/**
 * The fixture channel stores payload directories, not archives: their md5/sha256 (what real repodata lists
 * per archive) are digests over the payload's sorted paths, file contents and link targets.
 */
export function payloadDigests(dir, rec) {
  if (rec.md5 && rec.sha256) return {};
  const md5 = crypto.createHash("md5");
  const sha256 = crypto.createHash("sha256");
  let size = 0;
  const walk = (rel) => {
    const abs = path.join(dir, rel);
    for (const name of fs.readdirSync(abs).sort()) {
      const childRel = path.join(rel, name);
      const stat = fs.lstatSync(path.join(dir, childRel));
      const data = stat.isSymbolicLink() ? Buffer.from(`link:${fs.readlinkSync(path.join(dir, childRel))}`) : stat.isDirectory() ? null : fs.readFileSync(path.join(dir, childRel));
      for (const h of [md5, sha256]) h.update(`${childRel}\0`);
      if (data) {
        for (const h of [md5, sha256]) h.update(data);
        size += data.length;
      } else walk(childRel);
    }
  };
  if (!fs.existsSync(dir)) return {};
  walk("");
  return { md5: md5.digest("hex"), sha256: sha256.digest("hex"), size };
}
