/**
 * Connected clients and message routing. Binary frames get `from` = the sender's real `ws/client`,
 * `to` qualified with the sender's workspace, `ws` and `user` added; the extra bytes pass untouched.
 * Unknown targets answer `peer_not_found`. Disconnects remove services and push `client_disconnected`.
 */
import type { WebSocket } from "ws";
import { encode } from "@msgpack/msgpack";
import { joinFrame, splitFrame, type MainMessage } from "./frames.js";
import { ServiceRegistry } from "./registry.js";
import { rootUser, type UserInfo } from "./tokens.js";
import type { WorkspaceManager } from "./manager.js";

export interface ClientConnection {
  /** `ws/client`. */
  id: string;
  workspace: string;
  clientId: string;
  user: UserInfo;
  socket: WebSocket;
  events: Set<string>;
}

export type DisconnectListener = (info: { id: string; workspace: string; clientId: string }) => void;

export class Router {
  readonly registry = new ServiceRegistry();
  private readonly clients = new Map<string, ClientConnection>();
  private readonly disconnectListeners = new Set<DisconnectListener>();
  private manager: WorkspaceManager | undefined;
  private closing = false;

  setManager(manager: WorkspaceManager | undefined): void {
    this.manager = manager;
    this.closing = manager === undefined;
  }

  private get managerAddress(): string {
    return `*/${this.manager?.managerId ?? "none"}`;
  }

  add(connection: ClientConnection): void {
    this.clients.set(connection.id, connection);
  }

  isConnected(id: string): boolean {
    return this.clients.has(id);
  }

  listClients(workspace: string): string[] {
    return [...this.clients.values()].filter((c) => c.workspace === workspace).map((c) => c.id);
  }

  allClients(): ClientConnection[] {
    return [...this.clients.values()];
  }

  onDisconnect(listener: DisconnectListener): () => void {
    this.disconnectListeners.add(listener);
    return () => this.disconnectListeners.delete(listener);
  }

  /** Routes a binary frame from a connected client. */
  routeFromClient(sender: ClientConnection, data: Uint8Array): void {
    let split;
    try {
      split = splitFrame(data);
    } catch {
      return; // not an RPC frame: the real server drops it as well
    }
    const main: MainMessage = split.main;
    const rawTo = typeof main.to === "string" ? main.to : "";
    main.from = sender.id;
    main.to = rawTo.includes("/") ? rawTo : `${sender.workspace}/${rawTo}`;
    main.ws = sender.workspace;
    main.user = sender.user;
    this.deliver(main, split.extra, (notFound) => sender.socket.send(notFound));
  }

  /** Routes a frame the workspace manager emits; it acts in the target's workspace as root. */
  routeFromManager(data: Uint8Array): void {
    const { main, extra } = splitFrame(data);
    const to = typeof main.to === "string" ? main.to : "";
    main.from = this.managerAddress;
    main.to = to;
    main.ws = to.split("/")[0] ?? "*";
    main.user = rootUser(this.manager?.managerId ?? "manager");
    this.deliver(main, extra, (notFound) => this.manager?.deliver(notFound));
  }

  private deliver(main: MainMessage, extra: Uint8Array, replyNotFound: (frame: Uint8Array) => void): void {
    const to = main.to as string;
    if (to === this.managerAddress && this.manager) {
      this.manager.deliver(joinFrame(main, extra));
      return;
    }
    if (to.endsWith("/*")) {
      this.broadcast(main, extra);
      return;
    }
    const target = this.clients.get(to);
    // A socket that is already closing counts as gone: a frame sent to it would be lost silently.
    if (target && target.socket.readyState === target.socket.OPEN) {
      target.socket.send(joinFrame(main, extra));
      return;
    }
    replyNotFound(
      encode({
        type: "peer_not_found",
        from: this.managerAddress,
        to: main.from,
        session: main.session ?? null,
        peer_id: to,
        error: `Peer ${to} is not connected`,
      }),
    );
  }

  /**
   * A client's emit({type, to: "*"}): to every client of the sender's workspace subscribed to `type`
   * (the sender too, when subscribed), as hypha's RedisRPCConnection does; `to` stays `ws/*`.
   */
  private broadcast(main: MainMessage, extra: Uint8Array): void {
    const workspace = (main.to as string).slice(0, -2);
    if (workspace !== main.ws || typeof main.type !== "string") return;
    for (const client of this.clients.values()) {
      if (client.workspace !== workspace || !client.events.has(main.type) || client.socket.readyState !== client.socket.OPEN) continue;
      client.socket.send(joinFrame(main, extra));
    }
  }

  subscribe(id: string, events: string[]): void {
    const client = this.clients.get(id);
    for (const event of events) client?.events.add(event);
  }

  unsubscribe(id: string, events: string[]): void {
    const client = this.clients.get(id);
    for (const event of events) client?.events.delete(event);
  }

  /** Pushes `{type, data}` to the clients of `workspace` subscribed to `type`. */
  emitEvent(workspace: string, type: string, data: Record<string, unknown>): void {
    if (this.closing) return;
    for (const client of this.clients.values()) {
      if (client.workspace !== workspace || !client.events.has(type)) continue;
      client.socket.send(encode({ type, data, from: this.managerAddress, to: client.id, ws: workspace }));
    }
  }

  /** Forgets a closed connection: its services go, subscribers and listeners hear about it. */
  remove(connection: ClientConnection): void {
    if (this.clients.get(connection.id) !== connection) return;
    this.clients.delete(connection.id);
    const gone = this.registry.removeClient(connection.id);
    for (const record of gone) this.emitEvent(connection.workspace, "service_removed", { id: record.id });
    this.emitEvent(connection.workspace, "client_disconnected", { id: connection.clientId, workspace: connection.workspace });
    if (this.closing) return;
    for (const listener of this.disconnectListeners) listener({ id: connection.id, workspace: connection.workspace, clientId: connection.clientId });
  }

  /** Drops every connection record without events (server stop). */
  clear(): void {
    this.clients.clear();
    this.registry.clear();
  }
}
