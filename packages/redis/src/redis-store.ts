import { randomBytes } from 'node:crypto';
import {
  checkRecordName,
  ConfigurationError,
  DEFAULT_RECORD_PAGE,
  packSubscription,
  topicMatches,
  unpackSubscription,
  unref,
  type ClientSubscription,
  type EnqueueResult,
  type Message,
  type OutgoingPacket,
  type QueuedMessage,
  type RecordPage,
  type Store,
  type StoredRecord,
  type AdapterContext,
  type DeadInstances,
  type Emitter,
  type PutOutgoingResult,
  type Subscription,
  type Will,
} from '@skynet-mqtt/core';
import { decodeMessage, decodeOutgoing, decodeQueued, encodeMessage, encodeOutgoing, encodeQueued } from './codec.js';
import { closeClient, ConnectionMonitor, createClient, HealthPing, type Client, type ConnectionState } from './connection.js';
import { Keys } from './keys.js';
import { resolveOptions, type Connection, type RedisAdapterOptions, type ResolvedOptions } from './options.js';
import { RedisEmitter } from './redis-emitter.js';
import * as S from './scripts.js';
import { positionStream, shardOf, streamPosition } from './shards.js';

function isWildcard(filter: string): boolean {
  return filter.includes('+') || filter.includes('#');
}

function asBuffers(reply: unknown): Buffer[] {
  return Array.isArray(reply) ? reply.filter((item): item is Buffer => Buffer.isBuffer(item)) : [];
}

function asStrings(reply: unknown): string[] {
  return Array.isArray(reply) ? reply.map(String) : [];
}

/** A durable subscription as SUBSCRIPTIONS_BY_TOPIC found it, with its session's 'since' as recorded. */
interface FoundSubscription {
  subscription: ClientSubscription;
  since: string;
}

/**
 * The last entry of each stream a session may lack, from its 'since': null for all of them (not
 * known: recorded by a version without it, or still being written, see SET_CONNECTED).
 */
function sinceVector(since: string): number[] | null {
  if (since === '' || since.startsWith('p')) return null;
  return since.split(',').map(Number);
}

/** Reads only within this many fields per HMGET, so one lookup never blocks Redis for long. */
const HMGET_CHUNK = 1_000;
/** Sessions dropped per sweep script. */
const SWEEP_BATCH = 500;

/** Whether two adapters' connection options name the same Redis (as configured: a deployment gives both the same). */
function sameServer(a: Connection, b: Connection): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Message ids a session took (queued ones it read, and those it had in flight) that its queue
 * refuses again (removed:<id>): enough to cover the messages a session gets between the death of
 * its instance and the redo of that instance's unfinished work (livenessTtl), at a high rate.
 */
const REMOVED_IDS_KEPT = 10_000;

/** Stream entries a claim returns per dead instance at most (an instance far behind is logged). */
const MAX_UNFINISHED = 10_000;

/**
 * The Store on Redis, shared by every broker instance using the same prefix. Layout and
 * atomicity are described in docs/backends/redis.md; multi-key changes run as Lua scripts.
 */
export class RedisStore implements Store {
  private readonly options: ResolvedOptions;
  private readonly client: Client;
  /** The key names of each shard (option shards); one: the single-slot layout. */
  private readonly shards: readonly Keys[];
  private readonly monitor: ConnectionMonitor;
  private closing: Promise<void> | null = null;
  private readonly health: HealthPing;
  /**
   * Recorded as the `connected` marker of the sessions this instance connects, so that other
   * instances can tell whether their owner is still alive (its `alive:<id>` key exists). The
   * broker gives its Store and Emitter the same id (AdapterContext): a survivor then finds the
   * dead instance's read position in the stream under it too.
   */
  readonly instanceId: string;
  private readonly heartbeat: NodeJS.Timeout;
  /** Set while a renewal is unanswered: during an outage renewals must not pile up in the queue. */
  private renewing = false;
  /** Whether another instance took this one for dead (logged once). */
  private claimed = false;
  /** subscriptionsByTopic lookups sent in this turn of the event loop, by topic. */
  private readonly lookups = new Map<string, Promise<FoundSubscription[]>>();
  /** With shards: the last retained store under a count limit (they run one at a time). */
  private limitedRetained: Promise<unknown> = Promise.resolve();

  constructor(options: RedisAdapterOptions | Record<string, unknown> = {}, context?: AdapterContext) {
    this.options = resolveOptions(options, 'store');
    this.instanceId = context?.instanceId ?? randomBytes(9).toString('base64url');
    this.shards = this.options.keyPrefixes.map((prefix) => new Keys(prefix));
    this.client = createClient(this.options.connection);
    this.monitor = new ConnectionMonitor([this.client], `Redis store (${this.options.prefix})`, this.options.logger);
    this.health = new HealthPing(this.client, this.monitor);
    this.renewLiveness();
    // Renewed three times per ttl: two renewals may be missed (a GC pause, a slow Redis) before the
    // instance counts as dead. unref: a running Store must not keep the process alive on its own.
    this.heartbeat = unref(setInterval(() => this.renewLiveness(), Math.floor(this.options.livenessTtl / 3)));
  }

  private renewLiveness(): void {
    if (this.renewing) return;
    this.renewing = true;
    // Every shard has its own copy of the key: the scripts of each look at the owners of its sessions.
    Promise.all(this.shards.map((keys) => this.run(keys, S.HEARTBEAT, keys.alive(this.instanceId), [this.instanceId, this.options.livenessTtl])))
      .then((answers) => {
        if (!answers.includes(1) || this.claimed) return;
        this.claimed = true;
        this.options.logger.error(
          `Redis store: this instance (${this.instanceId}) did not renew its liveness for ${this.options.livenessTtl} ms (a pause, or Redis out of reach) ` +
            'and another instance took over its duties: wills of its clients may have been published and messages queued for sessions it still serves; ' +
            'raise livenessTtl if this repeats',
        );
      })
      .catch((error: unknown) => this.options.logger.error(`Redis store: could not renew its liveness key: ${String(error)}`))
      .finally(() => (this.renewing = false));
  }

  /** Whether Redis is reachable now; while 'down' or 'connecting' calls wait. */
  get state(): ConnectionState {
    return this.monitor.state;
  }

  private run(keys: Keys, script: S.Script, key: string, args: readonly S.ScriptArg[], binary = false): Promise<unknown> {
    return S.runScript(this.client, script, key, [keys.prefix, ...args], binary);
  }

  /** Runs a script on a client's state, in the client's shard: ARGV prefix, clientId, `args`. */
  private runFor(clientId: string, script: S.Script, args: readonly S.ScriptArg[], binary = false): Promise<unknown> {
    const keys = this.shard(clientId);
    return this.run(keys, script, keys.session(clientId), [clientId, ...args], binary);
  }

  /** The shard of a client's state, or of a retained topic, or of a record collection. */
  private shard(key: string): Keys {
    return this.shards[shardOf(key, this.shards.length)]!;
  }

  // Retained --------------------------------------------------------------------------------

  async storeRetained(message: Message, maxCount?: number): Promise<boolean> {
    const value = message.payload.length === 0 ? '' : encodeMessage(message);
    const keys = this.shard(message.topic);
    const limit = maxCount === undefined || maxCount === Infinity ? '' : maxCount;
    const expiresAt = value === '' || message.expiresAt === undefined ? '' : message.expiresAt;
    const store = (limitHere: number | ''): Promise<boolean> =>
      this.run(keys, S.STORE_RETAINED, keys.retained, [message.topic, message.topic.split('/')[0]!, value, limitHere, expiresAt]).then((stored) => stored === 1);
    if (limit === '' || value === '' || this.shards.length === 1) return store(limit);
    // With shards the script sees its own shard's count: the others' are taken off the limit. The
    // limited stores of this instance run one at a time, so that none passes it; those of other
    // instances at the same moment may, by what they add meanwhile.
    const turn = this.limitedRetained.then(async () => {
      const others = await Promise.all(this.shards.filter((other) => other !== keys).map((other) => this.client.hlen(other.retained)));
      return store(limit - others.reduce((a, b) => a + b, 0));
    });
    this.limitedRetained = turn.catch(() => undefined);
    return turn;
  }

  async countRetained(): Promise<number> {
    const counts = await Promise.all(this.shards.map((keys) => this.client.hlen(keys.retained)));
    return counts.reduce((a, b) => a + b, 0);
  }

  /**
   * A PING round trip. Rejects at once while the connection is known to be lost; before the first
   * connection it waits (the caller bounds the wait), sharing one PING among concurrent callers.
   */
  ping(): Promise<void> {
    return this.health.ping();
  }

  async matchRetained(filters: readonly string[]): Promise<Message[]> {
    const found: Message[] = [];
    for await (const page of this.retainedPages(filters, HMGET_CHUNK)) for (const message of page) found.push(message);
    return found;
  }

  /**
   * Exact filters are read directly. A wildcard filter reads the topics under its first level
   * (or under every non-$ first level when it starts with a wildcard), one first level at a time,
   * matches them here, then reads their messages a page at a time: between pages the walk holds
   * the topic names of one first level, never the messages. Cost follows the topics sharing the
   * filter's first level. With shards, one shard after the other.
   */
  async *retainedPages(filters: readonly string[], pageSize: number): AsyncGenerator<Message[], void, undefined> {
    for (const keys of this.shards) yield* this.retainedPagesOf(keys, filters, pageSize);
  }

  private async *retainedPagesOf(keys: Keys, filters: readonly string[], pageSize: number): AsyncGenerator<Message[], void, undefined> {
    const exact = new Set<string>();
    const byLevel = new Map<string, string[]>();
    const topLevelWildcards: string[] = [];
    for (const filter of filters) {
      if (!isWildcard(filter)) {
        if (this.shard(filter) === keys) exact.add(filter);
        continue;
      }
      const first = filter.split('/')[0]!;
      if (first === '+' || first === '#') topLevelWildcards.push(filter);
      else byLevel.set(first, [...(byLevel.get(first) ?? []), filter]);
    }
    if (topLevelWildcards.length > 0) {
      for (const level of await this.client.smembers(keys.retainedLevels)) {
        if (level.startsWith('$')) continue; // [MQTT-4.7.2-1]
        byLevel.set(level, [...(byLevel.get(level) ?? []), ...topLevelWildcards]);
      }
    }
    yield* this.retainedOf(keys, [...exact], pageSize);
    for (const [level, levelFilters] of byLevel) {
      const topics: string[] = [];
      for (const topic of await this.client.smembers(keys.retainedByLevel(level))) {
        // A topic an exact filter names was read already.
        if (!exact.has(topic) && levelFilters.some((filter) => topicMatches(filter, topic))) topics.push(topic);
      }
      yield* this.retainedOf(keys, topics, pageSize);
    }
  }

  /**
   * Every retained message, `$` topics included, a page at a time (HSCAN of each shard's hash, so
   * a page may repeat a message while others write): what copyRetained reads.
   */
  async *allRetained(pageSize = HMGET_CHUNK): AsyncGenerator<Message[], void, undefined> {
    for (const keys of this.shards) {
      let cursor = '0';
      do {
        const [next, flat] = await this.client.hscanBuffer(keys.retained, cursor, 'COUNT', pageSize);
        cursor = next.toString();
        const page: Message[] = [];
        for (let i = 1; i < flat.length; i += 2) page.push(decodeMessage(flat[i]!));
        if (page.length > 0) yield page;
      } while (cursor !== '0');
    }
  }

  /** The retained messages of `topics`, a page at a time; expired ones are removed, not given. [MQTT-3.3.2-5] */
  private async *retainedOf(keys: Keys, topics: readonly string[], pageSize: number): AsyncGenerator<Message[], void, undefined> {
    const chunk = Math.max(1, Math.min(pageSize, HMGET_CHUNK));
    for (let i = 0; i < topics.length; i += chunk) {
      const values = await this.client.hmgetBuffer(keys.retained, ...topics.slice(i, i + chunk));
      const found: Message[] = [];
      const expired: string[] = [];
      const now = Date.now();
      for (const value of values) {
        if (!value) continue;
        const message = decodeMessage(value);
        if (message.expiresAt !== undefined && message.expiresAt <= now) expired.push(message.topic);
        else found.push(message);
      }
      if (expired.length > 0) await this.run(keys, S.REMOVE_EXPIRED_RETAINED, keys.retained, [now, ...expired]);
      if (found.length > 0) yield found;
    }
  }

  // Sessions and subscriptions ----------------------------------------------------------------

  async getSession(clientId: string): Promise<Subscription[] | null> {
    const reply = await this.runFor(clientId, S.GET_SESSION, [this.options.ttl.subscriptions]);
    if (reply === null) return null;
    const flat = asStrings(reply);
    const subscriptions: Subscription[] = [];
    for (let i = 0; i < flat.length; i += 2) subscriptions.push(unpackSubscription(flat[i]!, Number(flat[i + 1])));
    return subscriptions;
  }

  async addSubscriptions(clientId: string, subscriptions: readonly Subscription[]): Promise<void> {
    const pairs = subscriptions.flatMap((subscription) => [subscription.topic, packSubscription(subscription)]);
    await this.runFor(clientId, S.ADD_SUBSCRIPTIONS, [this.options.ttl.subscriptions, ...pairs]);
  }

  async createSession(clientId: string): Promise<void> {
    await this.runFor(clientId, S.CREATE_SESSION, [this.options.ttl.subscriptions]);
  }

  async removeSubscriptions(clientId: string, topics: readonly string[]): Promise<void> {
    if (topics.length === 0) return;
    await this.runFor(clientId, S.REMOVE_SUBSCRIPTIONS, topics);
  }

  /**
   * Asked in the same turn of the event loop for the same topic (the QoS 1 messages of a batch the
   * Emitter added, as a rule), one lookup answers them all: each caller's message was in Redis
   * before the lookup was sent, which is all a caller needs (see Server.queueForOfflineSessions).
   * With shards each shard's index is asked, and a session's `connectedSince` is its position in
   * the stream of the caller's message (`position`, as the Emitter numbered it).
   */
  subscriptionsByTopic(topic: string, position?: number): Promise<ClientSubscription[]> {
    let lookup = this.lookups.get(topic);
    if (!lookup) {
      if (this.lookups.size === 0) process.nextTick(() => this.lookups.clear());
      lookup = this.lookUpSubscriptions(topic);
      this.lookups.set(topic, lookup);
    }
    const count = this.shards.length;
    return lookup.then((found) =>
      found.map(({ subscription, since }) => {
        if (count === 1 || position === undefined || since === '') return subscription;
        const bounds = sinceVector(since);
        const { stream } = positionStream(position, count);
        // Still being written: the session may lack anything published so far.
        const connectedSince = bounds === null ? Number.MAX_SAFE_INTEGER : streamPosition(bounds[stream] ?? 0, stream, count);
        return { ...subscription, connectedSince };
      }),
    );
  }

  private async lookUpSubscriptions(topic: string): Promise<FoundSubscription[]> {
    const replies = await Promise.all(this.shards.map((keys) => this.run(keys, S.SUBSCRIPTIONS_BY_TOPIC, keys.subscriptionNodes, [topic])));
    const found: FoundSubscription[] = [];
    for (const reply of replies) {
      const flat = asStrings(reply);
      for (let i = 0; i < flat.length; i += 5) {
        const subscription: ClientSubscription = { ...unpackSubscription(flat[i + 1]!, Number(flat[i + 2])), clientId: flat[i]!, connected: flat[i + 3] === '1' };
        // One stream: its entry number is the position.
        if (this.shards.length === 1 && flat[i + 4]) subscription.connectedSince = Number(flat[i + 4]);
        found.push({ subscription, since: flat[i + 4]! });
      }
    }
    return found;
  }

  /**
   * Connected: the session's marker becomes this instance's id, alive as long as we are.
   * Disconnected: the marker is cleared only if it is still ours (SET_CONNECTED).
   * With shards, the streams' counters are read once the session is marked, then recorded as its
   * 'since' (SET_SINCE): read after the mark, every entry above them was added after it.
   */
  async setConnected(clientId: string, connected: boolean, expiryInterval?: number): Promise<void> {
    const interval = expiryInterval === undefined ? '' : Math.max(1, Math.round(expiryInterval));
    const token = connected && this.shards.length > 1 ? randomBytes(6).toString('base64url') : '';
    const marked = await this.runFor(clientId, S.SET_CONNECTED, [connected ? this.instanceId : '0', interval, this.options.ttl.subscriptions, this.instanceId, token]);
    if (token === '' || marked !== 1) return;
    const counters = await Promise.all(this.shards.map((shard) => this.client.get(`${shard.stream}:n`)));
    await this.runFor(clientId, S.SET_SINCE, [token, counters.map((n) => n ?? '0').join(',')]);
  }

  async deleteSession(clientId: string): Promise<void> {
    await this.runFor(clientId, S.DELETE_SESSION, []);
  }

  /** In rounds of SWEEP_BATCH, so that one script never holds Redis for long. */
  async sweepExpired(): Promise<number> {
    let swept = 0;
    for (const keys of this.shards) {
      for (;;) {
        const [dropped, due] = asStrings(await this.run(keys, S.SWEEP_EXPIRED, keys.expiring, [SWEEP_BATCH])).map(Number);
        swept += dropped ?? 0;
        if ((due ?? 0) < SWEEP_BATCH) break;
      }
      // Retained messages whose Message Expiry Interval ran out, 1000 per script.
      let removed: number;
      do removed = Number(await this.run(keys, S.REMOVE_EXPIRED_RETAINED, keys.retained, [Date.now()]));
      while (removed === 1000);
    }
    return swept;
  }

  // Offline queue -----------------------------------------------------------------------------

  /**
   * Queued under the message's id, which makes the insert idempotent (ENQUEUE); a message without
   * an id gets a random key, so it is never taken for another.
   */
  async enqueue(clientId: string, message: Message): Promise<EnqueueResult> {
    const { packets } = this.options.ttl;
    const key = message.id || randomBytes(12).toString('base64url');
    const now = Date.now();
    const reply = await this.runFor(clientId, S.ENQUEUE, [key, encodeQueued(message, now + packets), this.options.maxQueuedMessages, packets, now]);
    const [status, dropped] = asStrings(reply).map(Number);
    return { connected: status === 2, dropped: dropped ?? 0 };
  }

  /** A queued message's id is its key in the queue: its message id, as a rule. */
  async peekQueue(clientId: string, limit: number): Promise<QueuedMessage[]> {
    const now = Date.now();
    const flat = asBuffers(await this.runFor(clientId, S.PEEK_QUEUE, [now, limit], true));
    const queued: QueuedMessage[] = [];
    for (let i = 0; i < flat.length; i += 2) queued.push({ id: flat[i]!.toString(), message: decodeQueued(flat[i + 1]!).message });
    return queued;
  }

  async removeQueued(clientId: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.runFor(clientId, S.REMOVE_QUEUED, [Date.now(), this.options.ttl.packets, REMOVED_IDS_KEPT, ...ids]);
  }

  // In-flight ---------------------------------------------------------------------------------

  async putOutgoing(clientId: string, packet: OutgoingPacket, refuseTaken = false): Promise<PutOutgoingResult> {
    const now = Date.now();
    const { subscriptions, packets } = this.options.ttl;
    const args = [packet.messageId, encodeOutgoing(packet), now, now + packets, subscriptions, packets, packet.id, REMOVED_IDS_KEPT, this.instanceId, refuseTaken ? '1' : ''];
    return String(await this.runFor(clientId, S.PUT_OUTGOING, args)) as PutOutgoingResult;
  }

  async removeOutgoing(clientId: string, messageId: number): Promise<void> {
    await this.runFor(clientId, S.REMOVE_OUTGOING, [messageId]);
  }

  async getOutgoing(clientId: string): Promise<OutgoingPacket[]> {
    return asBuffers(await this.runFor(clientId, S.GET_OUTGOING, [Date.now()], true)).map(decodeOutgoing);
  }

  async putIncoming(clientId: string, messageId: number): Promise<boolean> {
    const added = await this.runFor(clientId, S.PUT_INCOMING, [messageId, this.options.ttl.subscriptions]);
    return added === 1;
  }

  async removeIncoming(clientId: string, messageId: number): Promise<void> {
    await this.runFor(clientId, S.REMOVE_INCOMING, [messageId]);
  }

  /**
   * Whether `emitter` records this Store's incoming QoS 2 packet ids itself (Emitter.publishOnce):
   * a Redis Emitter on the same Redis and prefix. That Emitter must have the same shards: the
   * Store reads its streams' positions (SET_SINCE, connectedSince) and finds a session's incoming
   * ids in the stream's shard.
   */
  sharesIncomingWith(emitter: Emitter): boolean {
    if (!(emitter instanceof RedisEmitter) || emitter.prefix !== this.options.prefix || !sameServer(emitter.connection, this.options.connection)) return false;
    if (emitter.keyPrefixes.join() !== this.options.keyPrefixes.join()) {
      throw new ConfigurationError(
        `Redis adapter: the backend (Emitter) has ${emitter.keyPrefixes.length} shard(s) and persistence (the Store) ${this.shards.length} on the same Redis and prefix; give both the same shards`,
      );
    }
    return true;
  }

  // Wills -------------------------------------------------------------------------------------

  async putWill(clientId: string, will: Will): Promise<void> {
    await this.runFor(clientId, S.PUT_WILL, [encodeMessage(will), this.instanceId, will.delayMs ?? '', will.delayUntil ?? '']);
  }

  async getWill(clientId: string): Promise<Will | null> {
    const value = await this.client.getBuffer(this.shard(clientId).will(clientId));
    return value ? decodeMessage(value) : null;
  }

  async deleteWill(clientId: string, onlyDelayed = false): Promise<void> {
    await this.runFor(clientId, S.DELETE_WILL, [onlyDelayed ? '1' : '']);
  }

  async claimOrphanedWills(): Promise<{ clientId: string; will: Will }[]> {
    const claimed: { clientId: string; will: Will }[] = [];
    for (const keys of this.shards) {
      const flat = asBuffers(await this.run(keys, S.CLAIM_ORPHANED_WILLS, keys.will(''), [], true));
      for (let i = 0; i < flat.length; i += 2) claimed.push({ clientId: flat[i]!.toString(), will: decodeMessage(flat[i + 1]!) });
    }
    return claimed;
  }

  /**
   * CLAIM_DEAD_INSTANCES. Not while this Store's connection has been up for less than the liveness
   * ttl: after Redis restarts (or this instance was cut off from it), the other instances' keys may
   * be gone only because they have not renewed them yet.
   *
   * With shards, the instances dead in some shard (DEAD_LISTED) are claimed by the holder of the
   * lease in the first shard (CLAIM_LEASE), on every shard: a dead instance's sessions of one shard
   * may lack entries of every stream.
   */
  async claimDeadInstances(): Promise<DeadInstances> {
    const none: DeadInstances = { instances: [], wills: [], sessions: [], unfinished: [] };
    const { livenessTtl, ttl } = this.options;
    if (this.monitor.state !== 'ready' || Date.now() - this.monitor.readySince < livenessTtl) return none;
    const args = [this.instanceId, livenessTtl, ttl.subscriptions, MAX_UNFINISHED];
    if (this.shards.length === 1) return this.mergeClaims([await this.run(this.shards[0]!, S.CLAIM_DEAD_INSTANCES, this.shards[0]!.alive(this.instanceId), args, true)]);
    const listed = await Promise.all(this.shards.map((keys) => this.run(keys, S.DEAD_LISTED, keys.alive(this.instanceId), [])));
    const candidates = [...new Set(listed.flatMap(asStrings))];
    if (candidates.length === 0) return none;
    const home = this.shards[0]!;
    const dead = asStrings(await this.run(home, S.CLAIM_LEASE, home.alive(this.instanceId), [this.instanceId, livenessTtl, ...candidates]));
    if (dead.length === 0) return none;
    return this.mergeClaims(await Promise.all(this.shards.map((keys) => this.run(keys, S.CLAIM_DEAD_INSTANCES, keys.alive(this.instanceId), [...args, ...dead], true))));
  }

  /** Merges the CLAIM_DEAD_INSTANCES replies of the shards (in shard order: stream i's entries are in reply i). */
  private mergeClaims(replies: readonly unknown[]): DeadInstances {
    const { logger } = this.options;
    const claimed: DeadInstances = { instances: [], wills: [], sessions: [], unfinished: [] };
    // Each session may lack the entries up to its own bound in each stream (null: all of them).
    const bounds: { clientId: string; upTo: number[] | null }[] = [];
    const entries: { stream: number; n: number; data: Buffer }[] = [];
    replies.forEach((reply, stream) => {
      const [dead, wills, sessions, messages] = Array.isArray(reply) ? (reply as unknown[]).map(asBuffers) : [];
      for (const id of dead ?? []) if (!claimed.instances.includes(id.toString())) claimed.instances.push(id.toString());
      for (let i = 0; i + 1 < (wills ?? []).length; i += 2) claimed.wills.push({ clientId: wills![i]!.toString(), will: decodeMessage(wills![i + 1]!) });
      for (let i = 0; i + 1 < (sessions ?? []).length; i += 2) bounds.push({ clientId: sessions![i]!.toString(), upTo: sinceVector(sessions![i + 1]!.toString()) });
      for (let i = 0; i + 1 < (messages ?? []).length; i += 2) entries.push({ stream, n: Number(messages![i]!.toString()), data: messages![i + 1]! });
      if ((messages?.length ?? 0) / 2 >= MAX_UNFINISHED) {
        logger.warn(`Redis store: a dead instance was at least ${MAX_UNFINISHED} stream entries behind; only the first ${MAX_UNFINISHED} it had not finished are redone`);
      }
    });
    claimed.sessions = bounds.map((b) => b.clientId);
    let all: ReadonlySet<string> | null = null;
    for (const { stream, n, data } of entries) {
      const lacking = bounds.filter((b) => b.upTo === null || n <= (b.upTo[stream] ?? Infinity));
      if (lacking.length === 0) continue;
      try {
        const message = decodeMessage(data);
        // One set for the (usual) entries every session may lack.
        const set = lacking.length === bounds.length ? (all ??= new Set(claimed.sessions)) : new Set(lacking.map((b) => b.clientId));
        claimed.unfinished.push({ message, sessions: set });
      } catch (error) {
        logger.error(`Redis store: skipped an undecodable stream entry of a dead instance: ${(error as Error).message}`);
      }
    }
    return claimed;
  }

  // Records ----------------------------------------------------------------------------------

  async putRecord(collection: string, key: string, value: Buffer, expiresAt?: number): Promise<void> {
    checkRecordName(collection, key);
    // A time to live rather than an absolute time: Redis expires it by its own clock from now.
    const ttl = expiresAt === undefined ? 0 : Math.max(-1, Math.ceil(expiresAt - Date.now()) || -1);
    const keys = this.shard(collection);
    await this.run(keys, S.PUT_RECORD, keys.record(collection, key), [collection, key, value, ttl]);
  }

  async getRecord(collection: string, key: string): Promise<Buffer | null> {
    checkRecordName(collection, key);
    return this.client.getBuffer(this.shard(collection).record(collection, key));
  }

  async deleteRecords(collection: string, keys: readonly string[]): Promise<number> {
    checkRecordName(collection);
    for (const key of keys) checkRecordName(collection, key);
    if (keys.length === 0) return 0;
    const shard = this.shard(collection);
    return Number(await this.run(shard, S.DELETE_RECORDS, shard.recordIndex(collection), [collection, ...keys]));
  }

  async listRecords(collection: string, page: RecordPage = {}): Promise<StoredRecord[]> {
    checkRecordName(collection);
    const { prefix = '', after, limit = DEFAULT_RECORD_PAGE } = page;
    if (limit < 1) return [];
    // Both bounds are byte strings to Redis: start after `after` when it sorts after the prefix.
    const start = after !== undefined && Buffer.compare(Buffer.from(after), Buffer.from(prefix)) >= 0 ? `(${after}` : `[${prefix}`;
    const keys = this.shard(collection);
    const flat = asBuffers(await this.run(keys, S.LIST_RECORDS, keys.recordIndex(collection), [collection, start, limit, prefix], true));
    const records: StoredRecord[] = [];
    for (let i = 0; i < flat.length; i += 2) records.push({ key: flat[i]!.toString(), value: flat[i + 1]! });
    return records;
  }

  /**
   * Deletes the liveness key (sessions still marked as ours count as disconnected from now on),
   * then flushes and closes. While Redis is down the DEL is dropped with the connection and the
   * key expires by itself within livenessTtl.
   */
  close(): Promise<void> {
    if (!this.closing) {
      clearInterval(this.heartbeat);
      this.monitor.closed();
      for (const keys of this.shards) this.client.del(keys.alive(this.instanceId)).catch(() => {});
      this.closing = closeClient(this.client);
    }
    return this.closing;
  }
}
