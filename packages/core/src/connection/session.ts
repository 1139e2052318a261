import type { Broker } from '../broker.js';
import type { Client, CloseReason } from './client.js';
import { unref } from '../timers.js';

/** How long a closing durable session waits for messages in transit; an Emitter that is down does not hold it. */
const EMITTER_SYNC_MS = 2000;

function within(promise: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    unref(timer);
    promise.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      () => {
        clearTimeout(timer);
        resolve();
      },
    );
  });
}

/**
 * Ends the session a connection carried: routes the will, then forgets a clean session, or keeps
 * a durable one with what was still waiting to be sent moved to its offline queue.
 */
export async function endSession(client: Client, reason: CloseReason): Promise<void> {
  const server = client.server;
  const takenOver = reason === 'new connection request';
  const store = server.store;
  // First, so that what waited for it in its shared subscriptions goes to other members at once.
  server.shared.memberLeft(client);

  // A durable session is marked offline, then it stays in the router until every message already
  // in transit through the Emitter has reached it (those go to its Store queue, the connection
  // being closed): a message is then queued either by its publisher or here, never by neither.
  // When both queue it, the Store keeps one: enqueue is idempotent on the message id.
  // After a takeover the newer connection owns the session: it is not offline.
  if (client.durable && !takenOver) {
    await client.persist((id) => store.setConnected(id, false, client.sessionExpiryMs));
    await within(server.emitter.sync(), EMITTER_SYNC_MS);
  }
  for (const filter of Object.keys(client.subscriptions)) server.router.unsubscribe(client, filter);

  const will = client.will;
  client.will = null;
  // A 5.0 session with a Session Expiry Interval of 0 ends here too, even one resumed from the Store.
  const sessionEnds = client.clean || client.sessionExpiryInterval === 0;
  // [MQTT-3.1.2-8] the will is published when the connection closes without DISCONNECT, a
  // takeover included (Mosca skipped it then). Not when the broker itself closes (Mosca's rule).
  if (will && reason !== 'server closed') {
    // A 5.0 will waits for its Will Delay Interval, or for the session to end if that comes
    // first; a reconnect within it (the connection taking over, say) cancels it (DelayedWills). [MQTT-3.1.3-9]
    const delay = sessionEnds ? 0 : Math.min(client.willDelayInterval, client.sessionExpiryInterval) * 1000;
    if (delay > 0) {
      client.logger.info({ clientId: client.id, topic: will.topic, delay }, 'last will delayed');
      server.delayedWills.schedule(client.id, delay, () => void server.publishWill(client, will));
    } else {
      client.logger.info({ clientId: client.id, topic: will.topic }, 'delivering last will');
      await server.publishWill(client, will);
    }
  }
  if (sessionEnds) {
    if (!takenOver) await client.persist((id) => store.deleteSession(id)); // [MQTT-3.1.2-6] [MQTT-3.1.2-23]
    for (const filter of Object.keys(client.subscriptions)) server.emit('unsubscribed', filter, client);
    return;
  }
  await saveWaiting(client);
  // After a takeover the will stored under this id is the newer connection's.
  if (!takenOver) await client.persist((id) => store.deleteWill(id));
}

/**
 * Publishes the wills the Store holds for connections no running broker has any more (a process
 * that was killed), each claimed once (Store.claimOrphanedWills). Called at start, before the
 * listeners open; a cluster can call it again whenever it finds an instance gone.
 */
export async function publishOrphanedWills(server: Broker): Promise<number> {
  const orphans = await server.store.claimOrphanedWills();
  for (const { clientId, will } of orphans) {
    server.logger.info({ clientId, topic: will.topic }, 'delivering the last will of a client connected when its broker stopped');
    // No authorizePublish: its client is gone, and hooks are not set yet at start.
    await server.route(server.messageIds.message(will.topic, will.payload, will.qos, will.retain, will.properties), null);
  }
  if (orphans.length > 0) server.logger.warn({ wills: orphans.length }, 'published the wills of clients connected to a broker that did not close cleanly');
  return orphans.length;
}

/**
 * A durable session's QoS 1/2 messages already wait in the Store; what waits in memory is QoS 0,
 * kept for the session only when `storeMessagesQos0` asks for it.
 */
async function saveWaiting(client: Client): Promise<void> {
  const waiting = client.outbound.takeWaiting();
  if (!client.server.settings.storeMessagesQos0) return;
  for (const message of waiting) await client.persist((id) => client.server.queueOffline(id, message));
}
