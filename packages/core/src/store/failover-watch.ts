import type { Broker } from '../broker.js';
import { unref } from '../timers.js';
import type { Will } from '../types.js';

/**
 * Takes over the duties of broker instances that died, for Stores shared by running instances
 * (Store.claimDeadInstances, Redis): every `interval` ms, one look at a time. Each dead instance
 * is claimed by one instance only; this one then publishes the wills that are due, and queues
 * again, for the sessions the dead instance served, the messages it had read from the Emitter and
 * may not have stored. Stores without it (memory, LevelDB) only have the wills a previous process
 * left, claimed once at start.
 */
export class FailoverWatch {
  private readonly timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly server: Broker,
    interval: number,
  ) {
    if (server.store.claimDeadInstances) this.timer = unref(setInterval(() => void this.run(), interval));
  }

  /** One look (the one in progress, if any); failures are logged, and the next look tries again. */
  run(): Promise<void> {
    this.running ??= this.takeOver()
      .catch((error: unknown) => this.server.logger.warn({ err: error }, 'could not take over the duties of dead broker instances'))
      .finally(() => (this.running = null));
    return this.running;
  }

  private async takeOver(): Promise<void> {
    const { server } = this;
    const store = server.store;
    if (!store.claimDeadInstances) {
      await publishWills(server, await store.claimOrphanedWills());
      return;
    }
    const dead = await store.claimDeadInstances();
    if (dead.instances.length > 0) {
      server.logger.warn(
        { instances: dead.instances, sessions: dead.sessions.length, wills: dead.wills.length, unfinished: dead.unfinished.length },
        'broker instances stopped renewing their liveness: their sessions are offline, their wills published and their unfinished deliveries queued again',
      );
    }
    await publishWills(server, dead.wills);
    for (const { message, sessions } of dead.unfinished) await server.queueForSessions(message, sessions);
  }

  /** Stops looking, and waits for a look in progress, so that the Store can be closed. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}

/**
 * Publishes wills whose connections no running broker has any more. One still within its Will
 * Delay (`delayUntil` in the future) waits for it here, unless its client comes back first.
 */
async function publishWills(server: Broker, wills: readonly { clientId: string; will: Will }[]): Promise<void> {
  for (const { clientId, will } of wills) {
    const wait = (will.delayUntil ?? 0) - Date.now();
    const publish = async () => {
      server.logger.info({ clientId, topic: will.topic }, 'delivering the last will of a client connected to a broker instance that did not close cleanly');
      // No authorizePublish: its client is gone (and at start, hooks are not set yet).
      await server.route(server.messageIds.message(will.topic, will.payload, will.qos, will.retain, will.properties), null);
    };
    if (wait > 0) server.delayedWills.schedule(clientId, wait, () => void publish().catch((error: unknown) => server.logger.error({ err: error, clientId }, 'could not publish the will')));
    else await publish();
  }
  if (wills.length > 0) server.logger.warn({ wills: wills.length }, 'published the wills of clients connected to a broker that did not close cleanly');
}
