/**
 * WebSocket clients mask every frame (RFC 6455 §5.3) so that a proxy reading the connection cannot be fooled
 * by payload bytes that look like HTTP. Where nothing on the path can read the frames, over TLS (`wss:`) or
 * to a loopback address, masking protects nothing but still costs a JS pass over every byte (`ws` without
 * its native bufferutil: measured 156 ms of the worker's CPU in one bridge-direct run). There the key is all
 * zeros, which `ws` recognises and skips; over plain `ws:` to another host frames stay masked at random.
 */
import type { ClientOptions } from "ws";

const zeroMask = (mask: Uint8Array): void => {
  mask.fill(0);
};

/** The `ws` options for a connection to `address`: `generateMask` only where masking protects nothing. */
export function maskOptionsFor(address: string | URL): Pick<ClientOptions, "generateMask"> {
  let url: URL;
  try {
    url = new URL(String(address));
  } catch {
    return {};
  }
  return url.protocol === "wss:" || isLoopbackHost(url.hostname) ? { generateMask: zeroMask } : {};
}

function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return host === "localhost" || host.endsWith(".localhost") || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host);
}
