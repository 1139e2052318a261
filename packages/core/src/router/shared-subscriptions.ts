import type { Broker } from '../broker.js';
import type { Client } from '../connection/client.js';
import type { ControlOrigin } from '../control/control-channel.js';
import { unref } from '../timers.js';
import type { ClientSubscription, Message, QoS, Subscription } from '../types.js';
import { SharedGroups, type SharedGroup, type SharedSubscriptionStrategy } from './shared-groups.js';

/** How often an instance with members announces them, and how long an announcement holds. */
const ANNOUNCE_MS = 10_000;
const ANNOUNCEMENT_LIFETIME_MS = 3 * ANNOUNCE_MS;

/** Control kinds: a message for one member of a group on the named instance; members per group; a new instance asking. */
const DELIVER = 'shared';
const MEMBERS = 'shared-members';
const HELLO = 'shared-hello';

/** A message given to one member of a group: where it came from, so that it is not sent there again. */
interface Assignment {
  /** The instance that is to deliver it. */
  t: string;
  /** The group, `$share/<group>/<filter>`. */
  g: string;
  /** The message's topic and RETAIN flag (the control message has its own). */
  o: string;
  r: boolean;
  /** Instances that had no member for it. */
  x: string[];
}

/**
 * Shared subscriptions (`$share/<group>/<filter>`) across every broker instance sharing the
 * Emitter: each message goes to exactly one member of each matching group. [MQTT-4.8.2-3]
 *
 * The instance where a message enters (its publisher's) decides, per message: it picks a member
 * among its own and the other instances' (by the strategy), and the decision travels with the
 * message: a member here gets it at once, a member elsewhere through the control channel, as one
 * message addressed to that instance, which hands it to one of its members. Instances do not need
 * the same view of the groups at the same instant: an instance that finds no member left for a
 * message addressed to it passes it on to another, and when no instance has one, the message is
 * queued for a durable member that is offline (found in the Store), or dropped like a message
 * nobody subscribes to. Each instance announces how many members it has per group (on change,
 * to a newcomer, and every ANNOUNCE_MS).
 *
 * A member that leaves gives back what never reached it, and its unacknowledged QoS 1 messages:
 * they go to another member. Its QoS 2 messages already sent stay with its session. [MQTT-4.8.2-4] [MQTT-4.8.2-5]
 */
export class SharedSubscriptions {
  readonly groups: SharedGroups;
  /** Round robin among durable members that are offline. */
  private offlineCursor = 0;
  private announceTimer: ReturnType<typeof setInterval> | null = null;
  private announcePending = false;
  /** Whether the last announcement had members: an instance that had some says when it has none. */
  private announcedAny = false;
  private readonly offs: (() => void)[] = [];

  constructor(
    private readonly server: Broker,
    strategy: SharedSubscriptionStrategy,
  ) {
    this.groups = new SharedGroups(strategy);
  }

  /** Whether any group is known: while none is, routing does no shared-subscription work. */
  get active(): boolean {
    return this.groups.size !== 0;
  }

  /** Listens on the control channel and asks the other instances for their members. */
  start(): void {
    const control = this.server.control;
    this.offs.push(
      control.on(DELIVER, (payload, origin, message) => this.assigned(payload, origin, message)),
      control.on(MEMBERS, (payload, origin) => this.announced(payload, origin)),
      control.on(HELLO, (_payload, origin) => {
        if (!origin.local && this.announcedAny) this.scheduleAnnounce();
      }),
    );
    this.announceTimer = unref(setInterval(() => this.tick(), ANNOUNCE_MS));
    // Not waited for: an Emitter that is down must not hold the start (announcements repeat anyway).
    control.send(HELLO, '').catch((error: unknown) => this.server.logger.warn({ err: error }, 'could not ask other instances for their shared-subscription members'));
  }

  /** Says this instance has no members any more (it is closing), and stops listening. */
  async stop(): Promise<void> {
    if (this.announceTimer) clearInterval(this.announceTimer);
    this.announceTimer = null;
    for (const off of this.offs.splice(0)) off();
    if (this.announcedAny) await this.server.control.send(MEMBERS, '{}').catch(() => undefined);
  }

  /** A client's subscription to a group, made or restored. */
  join(client: Client, subscription: Subscription): void {
    if (this.groups.join(client, subscription.topic)) this.scheduleAnnounce();
  }

  /**
   * A client unsubscribed from a group: what waits for it there goes to another member (what is
   * in flight completes with it, as after any UNSUBSCRIBE).
   */
  unsubscribe(client: Client, filter: string): void {
    if (this.groups.leave(client, filter)) this.scheduleAnnounce();
    this.redeliver(client.outbound.takeShared(filter, false));
  }

  /**
   * A member's connection ended (its session may live on): it leaves its groups, and what waited
   * for it and its unacknowledged QoS 1 messages go to other members. The client may have seen
   * such a QoS 1 message (at least once); QoS 2 ones stay with its session. [MQTT-4.8.2-4] [MQTT-4.8.2-5]
   */
  memberLeft(client: Client): void {
    let left = false;
    for (const filter of Object.keys(client.subscriptions)) if (this.groups.leave(client, filter)) left = true;
    if (!left) return;
    this.scheduleAnnounce();
    this.redeliver(client.outbound.takeShared(undefined, true));
  }

  /**
   * Gives the message to one member of each group it matches that has one in view (null when no
   * group matches; else whether each group was served). A QoS 1/2 message for a group with no
   * member in view is left to queueUnserved. What the publisher's ack waits for goes into `writes`.
   */
  dispatch(message: Message, writes: Promise<void>[] | null): Map<string, boolean> | null {
    const groups = this.groups.matching(message.topic);
    if (groups.length === 0) return null;
    const served = new Map<string, boolean>();
    for (const group of groups) {
      const sent = this.send(message, group, undefined, writes);
      served.set(group.key, sent);
      // Members here, all full: no one takes it (a QoS 1/2 message may still find one in the Store).
      if (!sent && message.qos === 0 && group.local.length > 0) this.dropForFullMembers(group.key);
    }
    return served;
  }

  /**
   * Queues the message for one member of each group the Store knows a durable member of and
   * `dispatched` did not serve: groups with no connected member anywhere, as far as this instance
   * knows, or whose members are all full. `subscriptions` are the Store's for the message's topic.
   */
  queueUnserved(message: Message, subscriptions: ClientSubscription[], dispatched: Map<string, boolean> | null): Promise<void>[] {
    const unserved = new Map<string, ClientSubscription[]>();
    for (const subscription of subscriptions) {
      if (dispatched?.get(subscription.topic) === true) continue;
      const members = unserved.get(subscription.topic);
      if (members) members.push(subscription);
      else unserved.set(subscription.topic, [subscription]);
    }
    if (dispatched) for (const [key, served] of dispatched) if (!served && !unserved.has(key)) this.dropForFullMembers(key);
    return [...unserved.values()].map((members) => this.queueForMember(message, members));
  }

  /** Counts a message that members of the group were there for, none of them able to take it. */
  private dropForFullMembers(key: string): void {
    if ((this.groups.get(key)?.local.length ?? 0) === 0) return;
    this.server.stats.drop('queueFull');
    this.server.rateLimitedLog.warn('queueFull', { group: key }, 'every member of a shared subscription here has a full queue: message dropped for the group');
  }

  /** Sends to one member of `group`, here or on another instance; false when none is in view. */
  private send(message: Message, group: SharedGroup, excluded: Set<string> | undefined, writes: Promise<void>[] | null): boolean {
    const target = this.groups.pick(group, this.eligible(message), excluded);
    if (target === null) return false;
    if ('client' in target) {
      deliverTo(target.client, message, group.key);
      return true;
    }
    const sending = this.forward(message, group.key, target.brokerId, excluded ? [...excluded] : []);
    if (writes) writes.push(sending);
    else sending.catch((error: unknown) => this.server.logger.warn({ err: error, group: group.key }, 'could not pass a message to another instance for a shared subscription'));
    return true;
  }

  /** Who may get the message now: connected, its queue not full, allowed to read `$SYS` topics. */
  private eligible(message: Message): (client: Client) => boolean {
    const sys = message.topic.startsWith('$SYS/') ? this.server.sysAccess : null;
    return (client) => client.connected && !client.outbound.full && (sys === null || sys.mayRead(client, message.topic));
  }

  /** What left a member goes to another, or to the Store for an offline durable member. */
  private redeliver(messages: { message: Message; group: string }[]): void {
    for (const { message, group } of messages) {
      this.pass(message, group, new Set([this.server.id])).catch((error: unknown) =>
        this.server.logger.error({ err: error, group }, 'could not redeliver a message of a shared subscription'),
      );
    }
  }

  /** To a member on this instance, else on another not in `excluded`, else to the Store. */
  private async pass(message: Message, key: string, excluded: Set<string>): Promise<void> {
    const group = this.groups.get(key);
    if (group) {
      const local = this.groups.pickLocal(group, this.eligible(message));
      if (local) return deliverTo(local, message, key);
      const writes: Promise<void>[] = [];
      if (this.send(message, group, excluded, writes)) return void (await Promise.all(writes));
    }
    if (message.qos === 0 && !this.server.settings.storeMessagesQos0) return;
    const subscriptions = await this.server.store.subscriptionsByTopic(message.topic);
    const members = subscriptions.filter((s) => s.topic === key);
    if (members.length > 0) await this.queueForMember(message, members);
    else this.dropForFullMembers(key);
  }

  /** Queues for one of `members` (durable sessions of one group), offline ones first, in turn. */
  private queueForMember(message: Message, members: ClientSubscription[]): Promise<void> {
    const offline = members.filter((m) => !m.connected);
    const among = offline.length > 0 ? offline : members;
    const member = among[this.offlineCursor++ % among.length]!;
    if (this.offlineCursor >= 0x3fffffff) this.offlineCursor = 0;
    const qos = (message.qos < member.qos ? message.qos : member.qos) as QoS;
    if (qos === 0 && !this.server.settings.storeMessagesQos0) return Promise.resolve();
    const queued: Message = { id: message.id, topic: message.topic, payload: message.payload, qos, retain: member.rap === true && message.retain };
    if (message.properties) queued.properties = message.properties;
    if (message.expiresAt !== undefined) queued.expiresAt = message.expiresAt;
    if (member.subscriptionIdentifier !== undefined) queued.subscriptionIdentifiers = [member.subscriptionIdentifier];
    return this.server.queueOffline(member.clientId, queued);
  }

  private forward(message: Message, group: string, brokerId: string, excluded: string[]): Promise<void> {
    const assignment: Assignment = { t: brokerId, g: group, o: message.topic, r: message.retain, x: excluded };
    const header = Buffer.from(JSON.stringify(assignment));
    const head = Buffer.allocUnsafe(4);
    head.writeUInt32BE(header.length, 0);
    return this.server.control.forward(DELIVER, message, Buffer.concat([head, header, message.payload]));
  }

  /** A message another instance addressed to this one for a group. */
  private assigned(payload: Buffer, origin: ControlOrigin, carrier: Message): void {
    let assignment: Assignment;
    let body: Buffer;
    try {
      const length = payload.readUInt32BE(0);
      assignment = JSON.parse(payload.toString('utf8', 4, 4 + length)) as Assignment;
      body = payload.subarray(4 + length);
    } catch (error) {
      this.server.logger.warn({ err: error, from: origin.brokerId }, 'unreadable shared-subscription message from another instance');
      return;
    }
    if (assignment.t !== this.server.id) return;
    const message: Message = { ...carrier, topic: assignment.o, payload: body, retain: assignment.r };
    const excluded = new Set([...assignment.x, origin.brokerId, this.server.id]);
    this.pass(message, assignment.g, excluded).catch((error: unknown) =>
      this.server.logger.error({ err: error, group: assignment.g }, 'could not deliver a message of a shared subscription'),
    );
  }

  private announced(payload: Buffer, origin: ControlOrigin): void {
    if (origin.local) return;
    try {
      this.groups.setRemote(origin.brokerId, JSON.parse(payload.toString()) as Record<string, number>, Date.now());
    } catch (error) {
      this.server.logger.warn({ err: error, from: origin.brokerId }, 'unreadable shared-subscription members from another instance');
    }
  }

  /** Announces on the next turn, once for every change made in this one. */
  private scheduleAnnounce(): void {
    if (this.announcePending) return;
    this.announcePending = true;
    setImmediate(() => {
      this.announcePending = false;
      this.announce();
    });
  }

  private announce(): void {
    if (this.server.closed) return;
    const counts = this.groups.localCounts();
    const any = Object.keys(counts).length > 0;
    if (!any && !this.announcedAny) return;
    this.announcedAny = any;
    this.server.control.send(MEMBERS, JSON.stringify(counts)).catch((error: unknown) => this.server.logger.warn({ err: error }, 'could not announce shared-subscription members'));
  }

  private tick(): void {
    this.groups.expireRemote(Date.now() - ANNOUNCEMENT_LIFETIME_MS);
    if (this.announcedAny) this.announce();
  }
}

/** A member's copy: at the QoS it was granted, with its Subscription Identifier, RETAIN as it asked. [MQTT-3.3.4-3] */
function deliverTo(client: Client, message: Message, key: string): void {
  const subscription = client.subscriptions[key];
  if (!subscription) return;
  const copy = subscription.subscriptionIdentifier === undefined ? message : { ...message, subscriptionIdentifiers: [subscription.subscriptionIdentifier] };
  client.deliver(copy, subscription.qos, subscription.rap === true && message.retain, key);
}
