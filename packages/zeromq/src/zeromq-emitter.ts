import { randomBytes } from 'node:crypto';
import { Publisher, Router, Subscriber } from 'zeromq';
import { LocalHandlers, type AdapterLogger, type Emitter, type Message, type MessageHandler } from '@skynet-mqtt/core';
import { decodeFrames, decodeHello, encodeHello, encodeMarker, encodeMessage, type Hello } from './codec.js';
import { resolveOptions, type ResolvedOptions, type ZeromqEmitterOptions } from './options.js';
import { Peer, type PeerHost } from './peer.js';
import { SendQueue } from './send-queue.js';

/**
 * The Emitter over a ZeroMQ mesh, Mosca's layout: each instance binds a PUB socket (`port`) and
 * a control socket (`controlPort`), and connects a SUB socket to the PUB socket of every peer. It
 * learns the peers' PUB addresses by exchanging hellos with their control sockets, starting from
 * `remotePorts` and then from the peers those know, so one listed address is enough to join the
 * mesh; a peer that starts late or restarts is joined without restarting the others.
 *
 * Delivery between instances is AT MOST ONCE: ZeroMQ keeps nothing for a peer that is down or
 * not yet joined, and drops beyond `highWaterMark`. publish() delivers to this instance's
 * handlers at once and resolves when ZeroMQ has queued the message. Durable sessions do not
 * depend on it: their queues live in the Store.
 *
 * Every instance receives every message (the SUB sockets subscribe to everything); handlers are
 * matched here with MQTT rules.
 */
export class ZeromqEmitter implements Emitter, PeerHost {
  readonly instanceId = randomBytes(9).toString('base64url');
  private readonly options: ResolvedOptions;
  private readonly logger: AdapterLogger;
  private readonly pub: Publisher;
  private readonly outgoing: SendQueue;
  private readonly sub: Subscriber;
  private readonly control = new Router({ linger: 0 });
  private readonly peers = new Map<string, Peer>();
  private readonly handlers = new LocalHandlers();
  private readonly markers = new Map<string, () => void>();
  private joinWaiters: (() => void)[] = [];
  private closed = false;

  constructor(options: ZeromqEmitterOptions | Record<string, unknown>) {
    this.options = resolveOptions(options);
    this.logger = this.options.logger;
    this.pub = new Publisher({ linger: 0, sendHighWaterMark: this.options.highWaterMark });
    this.sub = new Subscriber({ linger: 0, receiveHighWaterMark: this.options.highWaterMark });
    this.outgoing = new SendQueue(this.pub, this.options.highWaterMark, (dropped) => {
      if (dropped % 10_000 === 1) this.logger.warn(`ZeroMQ backend: message(s) dropped, more than highWaterMark waiting to be sent: ${dropped} so far`);
    });
  }

  get heartbeatInterval(): number {
    return this.options.heartbeatInterval;
  }

  /**
   * Binds, joins the peers in `remotePorts`, and resolves once each of them and this instance
   * receive each other (or after `joinTimeout`: a peer that is not up yet joins when it starts).
   */
  async start(): Promise<void> {
    const { port, controlPort, remotePorts, joinTimeout } = this.options;
    try {
      await this.pub.bind(port);
      await this.control.bind(controlPort);
    } catch (error) {
      this.close();
      throw new Error(`ZeroMQ backend: cannot bind ${port} and ${controlPort}: ${(error as Error).message}`);
    }
    this.sub.subscribe();
    void this.readSubscriber();
    void this.answerControl();
    for (const control of remotePorts) this.learn(control);
    const listed = (): Peer[] => remotePorts.map((c) => this.peers.get(c)!);
    const joined = (): boolean => listed().every((peer) => peer.receiving && peer.heard);
    const deadline = Date.now() + joinTimeout;
    while (!joined() && !this.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        this.joinWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const missing = listed().filter((peer) => !(peer.receiving && peer.heard));
    if (missing.length > 0) {
      this.logger.warn(`ZeroMQ backend: ${missing.map((p) => p.control).join(', ')} not joined after ${joinTimeout} ms; starting anyway (they join when they come up)`);
    }
  }

  async publish(message: Message): Promise<void> {
    if (this.closed) throw new Error('ZeroMQ backend: publish after close');
    const frames = encodeMessage(message);
    this.deliver(message);
    await this.outgoing.send(frames);
  }

  async subscribe(filter: string, handler: MessageHandler): Promise<void> {
    if (!this.closed) this.handlers.add(filter, handler);
  }

  async unsubscribe(filter: string, handler: MessageHandler): Promise<void> {
    this.handlers.remove(filter, handler);
  }

  /** Asks every live peer for a marker and waits for them all: what each published before has arrived. */
  async sync(): Promise<void> {
    if (this.closed) return;
    await Promise.all([...this.peers.values()].map((peer) => peer.mark()));
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.handlers.clear();
      for (const peer of this.peers.values()) peer.close();
      for (const arrived of [...this.markers.values()]) arrived();
      this.markers.clear();
      this.releaseJoinWaiters();
      this.pub.close();
      this.sub.close();
      this.control.close();
    }
    return Promise.resolve();
  }

  // PeerHost

  hello(mark?: string): Hello {
    const joined = [...this.peers.values()].filter((p) => p.receiving && p.id !== undefined).map((p) => p.id!);
    return { id: this.instanceId, pub: this.options.port, control: this.options.controlPort, peers: [...this.peers.keys()], joined, ...(mark ? { mark } : {}) };
  }

  follow(address: string, previous: string | undefined): void {
    if (this.closed) return;
    if (previous !== undefined) this.sub.disconnect(previous);
    this.sub.connect(address);
  }

  learn(control: string): void {
    if (this.closed || control === this.options.controlPort || this.peers.has(control)) return;
    this.peers.set(control, new Peer(control, this));
  }

  expectMarker(token: string, arrived: () => void): void {
    this.markers.set(token, arrived);
  }

  forgetMarker(token: string): void {
    this.markers.delete(token);
  }

  changed(peer: Peer, event: 'joined' | 'left' | 'restarted'): void {
    if (event === 'joined' && peer.receiving && peer.heard) this.logger.info(`ZeroMQ backend: peer ${peer.control} (PUB ${peer.pub}) joined`);
    if (event === 'left') this.logger.warn(`ZeroMQ backend: peer ${peer.control} stopped answering; what it publishes meanwhile is lost to this instance`);
    if (event === 'restarted') this.logger.info(`ZeroMQ backend: peer ${peer.control} restarted; joining it again`);
    this.releaseJoinWaiters();
  }

  private releaseJoinWaiters(): void {
    for (const resolve of this.joinWaiters.splice(0)) resolve();
  }

  private deliver(message: Message): void {
    this.handlers.deliver(message, (error) => this.logger.error(`ZeroMQ backend: a handler of ${message.topic} threw: ${String(error)}`));
  }

  private async readSubscriber(): Promise<void> {
    try {
      for await (const frames of this.sub) {
        if (this.closed) return;
        let decoded;
        try {
          decoded = decodeFrames(frames);
        } catch (error) {
          this.logger.error(`ZeroMQ backend: dropped frames no Skynet MQTT broker wrote: ${(error as Error).message}`);
          continue;
        }
        if (decoded.kind === 'message') this.deliver(decoded.message);
        else if (decoded.requester === this.instanceId) this.markers.get(decoded.token)?.();
      }
    } catch {
      // The socket was closed.
    }
  }

  /** Answers every hello with ours, joins its sender, and publishes the marker it asks for. */
  private async answerControl(): Promise<void> {
    try {
      for await (const [identity, frame] of this.control) {
        if (this.closed) return;
        let hello: Hello;
        try {
          hello = decodeHello(frame);
        } catch {
          continue; // not one of ours: ignored
        }
        this.learn(hello.control);
        // In the same queue as messages: the marker follows on PUB whatever this instance published before.
        if (hello.mark) void this.outgoing.send(encodeMarker(hello.id, hello.mark));
        await this.control.send([identity!, encodeHello(this.hello())]);
      }
    } catch {
      // The socket was closed.
    }
  }
}
