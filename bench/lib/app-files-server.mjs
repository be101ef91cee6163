/**
 * A minimal stand-in for Hypha's app files endpoint (`GET {app_files_base_url}/{path}?use_proxy=true`), so
 * the benchmarks can drive CondaWorker.start the production way without the full app-manager stand-in.
 * Serves files of registered app folders at /<appId>/files/<path>; folders are listed as JSON.
 */
import fs from "node:fs";
import http from "node:http";
import path from "node:path";

/** Starts the server on 127.0.0.1; returns { baseUrlFor(appId), addApp(appId, dir), close() }. */
export async function startAppFilesServer() {
  const apps = new Map();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const match = /^\/([^/]+)\/files\/(.*)$/.exec(url.pathname);
    const root = match ? apps.get(decodeURIComponent(match[1])) : undefined;
    if (!match || !root) return void res.writeHead(404).end("not found");
    const rel = decodeURIComponent(match[2]);
    const file = path.resolve(root, rel);
    if (file !== root && !file.startsWith(`${root}${path.sep}`)) return void res.writeHead(403).end("outside");
    fs.stat(file, (error, stat) => {
      if (error) return void res.writeHead(404).end("not found");
      if (stat.isDirectory()) {
        const entries = fs.readdirSync(file, { withFileTypes: true }).map((e) => ({ name: e.name, type: e.isDirectory() ? "directory" : "file", size: e.isDirectory() ? 0 : fs.statSync(path.join(file, e.name)).size }));
        return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(entries));
      }
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": stat.size });
      fs.createReadStream(file).pipe(res);
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  return {
    addApp(appId, dir) {
      apps.set(appId, path.resolve(dir));
    },
    baseUrlFor(appId) {
      return `http://127.0.0.1:${port}/${encodeURIComponent(appId)}/files`;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
