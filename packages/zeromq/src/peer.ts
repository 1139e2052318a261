import { randomBytes } from 'node:crypto';
import { Dealer } from 'zeromq';
import { decodeHello, encodeHello, type Hello } from './codec.js';

/** What a Peer needs from the instance it belongs to. */
export interface PeerHost {
  readonly instanceId: string;
  readonly heartbeatInterval: number;
  /** This instance's hello (what the peer learns about it). */
  hello(mark?: string): Hello;
  /** Start reading the PUB socket at `address` (and stop reading `previous`, if any). */
  follow(address: string, previous: string | undefined): void;
  /** A control address heard of through this peer: join it too. */
  learn(control: string): void;
  /** Calls `arrived` when a marker with `token` comes in on the SUB socket. */
  expectMarker(token: string, arrived: () => void): void;
  forgetMarker(token: string): void;
  /** Something changed in this peer's state (joined, left). */
  changed(peer: Peer, event: 'joined' | 'left' | 'restarted'): void;
}

/** Heartbeats without a reply after which a peer counts as gone (sync() stops waiting for it). */
const MISSED_BEATS = 3;
/** While joining, hellos go out this often (a marker sent before our SUB was connected is lost). */
const JOINING_MS = 100;

/**
 * Another instance of the mesh, reached through its control address with a DEALER socket.
 *
 * Joining: hellos (each asking for a marker) go out until a marker from the peer arrives on our
 * SUB socket: from then on everything it publishes reaches us (`receiving`). Its replies say
 * whether it receives us too (`heard`). Heartbeats go on forever: a peer that restarts (a new id)
 * is joined again, one that stops answering counts as gone until it answers again.
 */
export class Peer {
  id: string | undefined;
  pub: string | undefined;
  /** Its markers reach us: we receive what it publishes. */
  receiving = false;
  /** It says it receives what we publish. */
  heard = false;
  private lastReply = 0;
  private readonly dealer = new Dealer({ linger: 0, immediate: true, sendTimeout: 0 });
  private timer: NodeJS.Timeout | null = null;
  private joinToken: string | null = null;
  private closed = false;

  constructor(
    readonly control: string,
    private readonly host: PeerHost,
  ) {
    this.dealer.connect(control);
    void this.readReplies();
    this.beat();
  }

  /** Answered within the last few heartbeats. */
  get alive(): boolean {
    return Date.now() - this.lastReply < MISSED_BEATS * this.host.heartbeatInterval;
  }

  /**
   * Resolves once a marker asked for now has come back from the peer, i.e. everything it
   * published before it read our request has been received; or once the peer counts as gone.
   */
  mark(): Promise<void> {
    if (!this.receiving || !this.alive) return Promise.resolve();
    const token = randomBytes(9).toString('base64url');
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout;
      const done = (): void => {
        clearTimeout(timer);
        this.host.forgetMarker(token);
        resolve();
      };
      // Asked again each heartbeat (a request may be dropped while the peer is unreachable); given
      // up on when the peer stops answering.
      const ask = (): void => {
        if (this.closed || !this.alive) return done();
        this.send(token);
        timer = setTimeout(ask, this.host.heartbeatInterval);
      };
      this.host.expectMarker(token, done);
      ask();
    });
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.dealer.close();
  }

  private beat(): void {
    if (this.closed) return;
    if (this.receiving && !this.alive) {
      this.receiving = false;
      this.heard = false;
      this.host.changed(this, 'left');
    }
    if (!this.receiving) {
      // Joining: each hello asks for a marker; the first that arrives proves the path.
      if (this.joinToken) this.host.forgetMarker(this.joinToken);
      const token = randomBytes(9).toString('base64url');
      this.joinToken = token;
      this.host.expectMarker(token, () => {
        this.host.forgetMarker(token);
        if (this.joinToken !== token || this.receiving) return;
        this.joinToken = null;
        this.receiving = true;
        this.host.changed(this, 'joined');
      });
      this.send(token);
    } else {
      this.send();
    }
    this.timer = setTimeout(() => this.beat(), this.receiving && this.heard ? this.host.heartbeatInterval : Math.min(JOINING_MS, this.host.heartbeatInterval));
  }

  private send(mark?: string): void {
    // sendTimeout 0 and immediate: nothing queues for a peer that is not connected; the next beat tries again.
    this.dealer.send(encodeHello(this.host.hello(mark))).catch(() => undefined);
  }

  private async readReplies(): Promise<void> {
    try {
      for await (const [frame] of this.dealer) {
        let hello: Hello;
        try {
          hello = decodeHello(frame);
        } catch {
          continue; // not one of ours: ignored
        }
        this.reply(hello);
      }
    } catch {
      // The socket was closed.
    }
  }

  private reply(hello: Hello): void {
    this.lastReply = Date.now();
    if (this.id !== undefined && hello.id !== this.id && this.receiving) {
      // Restarted: what it publishes now is not known to reach us until a marker proves it.
      this.receiving = false;
      this.host.changed(this, 'restarted');
    }
    this.id = hello.id;
    if (hello.pub !== this.pub) {
      this.host.follow(hello.pub, this.pub);
      this.pub = hello.pub;
    }
    const heard = hello.joined.includes(this.host.instanceId);
    if (heard !== this.heard) {
      this.heard = heard;
      if (heard) this.host.changed(this, 'joined');
    }
    for (const control of hello.peers) this.host.learn(control);
  }
}
