/** Bundles a TypeScript entry (and the src/ it imports) into one runnable .mjs for child processes. */
import { build } from "esbuild";

export async function bundleForNode(entry: string, outfile: string): Promise<string> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "silent",
    // proper-lockfile and friends are CommonJS and require() node built-ins.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  });
  return outfile;
}
