// The package cache: packages are "extracted" (copied from the channel) into <pkgs>/<dist>/ before linking.
// Concurrent extraction into one cold cache is what corrupts real conda caches; with
// FAKE_PM_CORRUPT_COLD_CACHE=1 the fake reproduces that deterministically: a create that needs to extract
// while another live process holds <pkgs>/.fake-pm-extracting fails with the flavour's corruption error.
import fs from "node:fs";
import path from "node:path";
import { PmFailure } from "./failure.mjs";

const LOCK_NAME = ".fake-pm-extracting";

/** Returns Map(dist -> extracted dir), extracting what the cache lacks. */
export async function extractIntoCache(records, pkgsDir, knobs, onExtract) {
  fs.mkdirSync(pkgsDir, { recursive: true });
  const result = new Map(records.map((r) => [r.dist, path.join(pkgsDir, r.dist)]));
  let cold = records.filter((r) => !isExtracted(pkgsDir, r));
  if (cold.length === 0) return result;
  const lock = path.join(pkgsDir, LOCK_NAME);
  for (;;) {
    const outcome = tryTakeLock(lock);
    if (outcome === "taken") break;
    if (outcome === "stale") continue;
    if (knobs.corruptColdCache) {
      const victim = cold.find((r) => r.name === "pip") ?? cold[0];
      throw new PmFailure("corrupted-package", { record: victim, path: path.join(pkgsDir, victim.dist) });
    }
    await sleep(50);
  }
  try {
    cold = records.filter((r) => !isExtracted(pkgsDir, r));
    // Keeps the extraction window open long enough for a concurrent create to run into it.
    if (knobs.corruptColdCache && cold.length) await sleep(knobs.extractDelayMs);
    for (const rec of cold) {
      extractOne(rec, pkgsDir);
      onExtract?.(rec);
    }
  } finally {
    fs.rmSync(lock, { force: true });
  }
  return result;
}

function isExtracted(pkgsDir, rec) {
  return fs.existsSync(path.join(pkgsDir, rec.dist, "info", "repodata_record.json"));
}

function extractOne(rec, pkgsDir) {
  if (!fs.existsSync(path.join(rec.payloadDir, "info", "index.json"))) {
    throw new PmFailure("corrupted-package", { record: rec, path: rec.payloadDir });
  }
  const target = path.join(pkgsDir, rec.dist);
  const tmp = `${target}.partial-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.cpSync(rec.payloadDir, tmp, { recursive: true });
  const { payloadDir: _payload, channelIndex: _index, ...record } = rec;
  fs.writeFileSync(path.join(tmp, "info", "repodata_record.json"), `${JSON.stringify(record, null, 2)}\n`);
  fs.rmSync(target, { recursive: true, force: true });
  fs.renameSync(tmp, target);
}

/** Exclusive create of the lock file: "taken", "busy" (live holder) or "stale" (dead holder, lock removed). */
function tryTakeLock(lock) {
  try {
    fs.writeFileSync(lock, String(process.pid), { flag: "wx" });
    registerCleanup(lock);
    return "taken";
  } catch (err) {
    if (err.code !== "EEXIST") throw err;
  }
  const text = readOr(lock, "");
  const holder = Number(text);
  // An empty file is a holder between its exclusive create and its write: treat it as alive.
  if (text === "" ? !olderThan(lock, 5000) : holder && isAlive(holder)) return "busy";
  fs.rmSync(lock, { force: true });
  return "stale";
}

function registerCleanup(lock) {
  process.once("exit", () => {
    if (readOr(lock, "") === String(process.pid)) fs.rmSync(lock, { force: true });
  });
}

function olderThan(file, ms) {
  try {
    return Date.now() - fs.statSync(file).mtimeMs > ms;
  } catch {
    return true;
  }
}

function readOr(file, fallback) {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return fallback;
  }
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === "EPERM";
  }
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
