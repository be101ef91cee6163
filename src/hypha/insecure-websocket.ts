/**
 * `--disable-ssl`: hypha-rpc JS has no TLS option of its own, so the connection is given a `ws`
 * WebSocket class that does not verify the server's certificate (self-signed / internal CAs).
 */
import WebSocket from "ws";

export class InsecureWebSocket extends WebSocket {
  constructor(address: string | URL, protocols?: string | string[], options?: WebSocket.ClientOptions) {
    super(address, protocols, { ...options, rejectUnauthorized: false });
  }
}

/** Extra connect options that switch certificate verification off. */
export function insecureConnectOptions(): { ssl: false; WebSocketClass: unknown } {
  return { ssl: false, WebSocketClass: InsecureWebSocket };
}
