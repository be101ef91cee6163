/**
 * The Hypha test server: HTTP + WebSocket (`/ws`) on 127.0.0.1, the handshake, routing, the workspace
 * manager, tokens, extra HTTP routes (the app manager's file server), stop/restart on the same port.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import { ClientLoadMeter } from "./client-load.js";
import { ConnectionFaults } from "./connection-faults.js";
import { routeAppServices } from "./app-http.js";
import { authenticateConnection } from "./handshake.js";
import { WorkspaceManager } from "./manager.js";
import { Router, type ClientConnection, type DisconnectListener } from "./router.js";
import { TokenAuthority, randomId, type IssueTokenOptions } from "./tokens.js";
import { WorkspaceStore } from "./workspaces.js";

/** Returns true when it answered the request. */
export type HttpRoute = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | Promise<boolean>;

export interface HyphaTestServerOptions {
  /** Port to listen on; default a free random port. */
  port?: number;
  /** Lifetime of reconnection tokens in seconds (default one day). */
  reconnectionTokenLifetimeS?: number;
}

export const TEST_HYPHA_VERSION = "0.21.135-test";

export class HyphaTestServer {
  readonly tokens = new TokenAuthority();
  readonly router = new Router();
  /** Test knobs that refuse connections the way the real server did (see connection-faults.ts). */
  readonly faults = new ConnectionFaults();
  /** Messages per minute of `__rlb` clients, as upstream's `get_client_load` (min_load, autoscaling). */
  readonly clientLoad = new ClientLoadMeter();
  /** Workspace records, env and event log: kept across restart(), as upstream keeps them in Redis. */
  readonly workspaces = new WorkspaceStore();
  private readonly routes: HttpRoute[] = [];
  private http: Server | undefined;
  private wss: WebSocketServer | undefined;
  private manager: WorkspaceManager | undefined;
  private boundPort: number;
  private readonly tokenLifetimeS: number;

  constructor(options: HyphaTestServerOptions = {}) {
    this.boundPort = options.port ?? 0;
    this.tokenLifetimeS = options.reconnectionTokenLifetimeS ?? 24 * 3600;
    // `/{workspace}/apps/{service_id}/...` to ASGI and functions services, as hypha/http.py.
    this.routes.push(routeAppServices(() => this.manager, this.tokens));
  }

  get port(): number {
    return this.boundPort;
  }

  /** `http://127.0.0.1:PORT` — what `server_url` is for hypha-rpc and in start configs. */
  get url(): string {
    return `http://127.0.0.1:${this.boundPort}`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.boundPort}/ws`;
  }

  get managerId(): string | undefined {
    return this.manager?.managerId;
  }

  get running(): boolean {
    return this.http !== undefined;
  }

  /** Issues a token bound to a workspace (and optionally a client id). */
  issueToken(options: IssueTokenOptions = {}): string {
    return this.tokens.issue(options);
  }

  addHttpRoute(route: HttpRoute): () => void {
    this.routes.push(route);
    return () => {
      const at = this.routes.indexOf(route);
      if (at >= 0) this.routes.splice(at, 1);
    };
  }

  onClientDisconnected(listener: DisconnectListener): () => void {
    return this.router.onDisconnect(listener);
  }

  async start(): Promise<void> {
    if (this.http) return;
    const http = createServer((req, res) => void this.handleHttp(req, res));
    const wss = new WebSocketServer({ server: http, path: "/ws" });
    wss.on("connection", (socket) => this.handleSocket(socket));
    await new Promise<void>((resolve, reject) => {
      http.once("error", reject);
      http.listen(this.boundPort, "127.0.0.1", () => resolve());
    });
    this.boundPort = (http.address() as AddressInfo).port;
    this.http = http;
    this.wss = wss;
    // A new manager id on every start, as upstream does after a restart.
    this.manager = new WorkspaceManager(randomId("manager"), this.managerHost(), this.url);
    this.router.setManager(this.manager);
  }

  /** Closes every connection (code 1001, so hypha-rpc clients try to reconnect) and the listener. */
  async stop(): Promise<void> {
    const http = this.http;
    if (!http) return;
    this.http = undefined;
    this.router.setManager(undefined);
    const sockets = this.router.allClients().map((c) => c.socket);
    this.router.clear();
    for (const socket of this.wss?.clients ?? []) socket.close(1001, "Server is stopping");
    await Promise.all(sockets.map((s) => waitClosed(s, 500)));
    for (const socket of this.wss?.clients ?? []) socket.terminate();
    await new Promise<void>((resolve) => this.wss?.close(() => resolve()) ?? resolve());
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
    this.manager?.close();
    this.manager = undefined;
    this.wss = undefined;
  }

  /** Stops and starts again on the same port; clients reconnect with their reconnection tokens. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  private managerHost() {
    const router = this.router;
    return {
      registry: router.registry,
      routeFromManager: (frame: Uint8Array) => router.routeFromManager(frame),
      emitEvent: (ws: string, type: string, data: Record<string, unknown>) => router.emitEvent(ws, type, data),
      subscribe: (id: string, events: string[]) => router.subscribe(id, events),
      unsubscribe: (id: string, events: string[]) => router.unsubscribe(id, events),
      isConnected: (id: string) => router.isConnected(id),
      listClients: (ws: string) => router.listClients(ws),
      issueToken: (options: IssueTokenOptions) => this.tokens.issue(options),
      verifyToken: (token: string) => this.tokens.verify(token),
      workspaces: this.workspaces,
    };
  }

  private handleSocket(socket: WebSocket): void {
    socket.once("message", (data: RawData, isBinary: boolean) => {
      if (isBinary) {
        socket.close(1003, "Failed to decode authentication information");
        return;
      }
      const result = authenticateConnection(rawText(data), this.tokens, (id) => this.router.isConnected(id));
      if (!result.ok || !this.manager) {
        const message = result.ok ? "Failed to establish connection: Server is stopping" : result.message;
        socket.send(JSON.stringify({ type: "error", message }));
        socket.close(1008, message.slice(0, 120));
        return;
      }
      const refusal = this.faults.take(result.workspace, result.clientId);
      if (refusal) {
        socket.send(JSON.stringify({ type: "error", message: refusal.message }));
        socket.close(refusal.code, refusal.reason);
        return;
      }
      const connection: ClientConnection = {
        id: `${result.workspace}/${result.clientId}`,
        workspace: result.workspace,
        clientId: result.clientId,
        user: result.user,
        socket,
        events: new Set(),
      };
      this.router.add(connection);
      socket.on("message", (frame: RawData, binary: boolean) => this.handleFrame(connection, frame, binary));
      socket.on("close", () => this.router.remove(connection));
      socket.send(JSON.stringify(this.connectionInfo(connection)));
    });
    socket.on("error", () => socket.terminate());
  }

  private connectionInfo(connection: ClientConnection): Record<string, unknown> {
    return {
      type: "connection_info",
      hypha_version: TEST_HYPHA_VERSION,
      public_base_url: this.url,
      local_base_url: this.url,
      manager_id: this.manager?.managerId,
      workspace: connection.workspace,
      client_id: connection.clientId,
      user: connection.user,
      reconnection_token: this.tokens.issueReconnection(connection.user, connection.workspace, connection.clientId, this.tokenLifetimeS),
      reconnection_token_life_time: this.tokenLifetimeS,
    };
  }

  private handleFrame(connection: ClientConnection, frame: RawData, binary: boolean): void {
    if (binary) {
      this.clientLoad.record(connection.workspace, connection.clientId);
      this.router.routeFromClient(connection, toBytes(frame));
      return;
    }
    let message: { type?: string };
    try {
      message = JSON.parse(rawText(frame)) as { type?: string };
    } catch {
      return;
    }
    if (message.type === "ping") connection.socket.send(JSON.stringify({ type: "pong" }));
    else if (message.type === "refresh_token") {
      const token = this.tokens.issueReconnection(connection.user, connection.workspace, connection.clientId, this.tokenLifetimeS);
      connection.socket.send(JSON.stringify({ type: "reconnection_token", reconnection_token: token }));
    }
  }

  private async handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.url);
    try {
      for (const route of [...this.routes]) if (await route(req, res, url)) return;
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ detail: "Not Found" }));
    } catch (error) {
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ detail: (error as Error).message }));
    }
  }
}

function rawText(data: RawData): string {
  return toBytes(data).toString("utf8");
}

function toBytes(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data as ArrayBuffer);
}

function waitClosed(socket: WebSocket, timeoutMs: number): Promise<void> {
  if (socket.readyState === socket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    socket.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
