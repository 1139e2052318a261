import type { Client, CloseReason } from './client.js';
import { unref } from '../timers.js';

/**
 * How long a closing durable session's connection waits for the messages in transit to it: an
 * Emitter that is slow or down does not hold the close longer (the session keeps taking them).
 */
const EMITTER_SYNC_MS = 2000;

/** Whether `promise` settles within `ms`. */
function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = unref(setTimeout(() => resolve(false), ms));
    const settled = () => {
      clearTimeout(timer);
      resolve(true);
    };
    promise.then(settled, settled);
  });
}

/** Takes the connection's subscriptions out of the router (not a newer connection's: Router.unsubscribe). */
function unsubscribeAll(client: Client): void {
  for (const filter of Object.keys(client.subscriptions)) client.server.router.unsubscribe(client, filter);
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
  // When both queue it, the Store keeps one: enqueue is idempotent on the message id. After a
  // takeover through another instance the newer connection owns the session: the Store leaves it
  // connected (setConnected clears only this instance's mark), and what reaches it here meanwhile
  // is queued for that connection.
  if (client.durable) {
    await client.persist((id) => store.setConnected(id, false, client.sessionExpiryMs));
    const synced = server.emitter.sync();
    // Not left before it caught up, however long that takes: what it then gets goes to the Store's
    // queue like the rest (leaving after the bound lost a message in transit to it).
    if (!(await settlesWithin(synced, EMITTER_SYNC_MS))) {
      client.logger.warn({ clientId: client.id }, 'the Emitter is slow to catch up: the closed session keeps taking the messages in transit to it until it has');
      void synced.catch(() => undefined).then(() => unsubscribeAll(client));
    } else {
      unsubscribeAll(client);
    }
  } else {
    unsubscribeAll(client);
  }

  const will = client.will;
  client.will = null;
  // A 5.0 session with a Session Expiry Interval of 0 ends here too, even one resumed from the Store.
  const sessionEnds = client.clean || client.sessionExpiryInterval === 0;
  // [MQTT-3.1.2-8] the will is published when the connection closes without DISCONNECT, a
  // takeover included (Mosca skipped it then). Not when the broker itself closes (Mosca's rule).
  // A 5.0 will waits for its Will Delay Interval, or for the session to end if that comes first;
  // a reconnect within it cancels it [MQTT-3.1.3-9]: a takeover, at once.
  const delay = sessionEnds ? 0 : willDelayMs(client);
  let kept = false;
  if (will && reason !== 'server closed' && !(takenOver && delay > 0)) {
    if (delay > 0) {
      client.logger.info({ clientId: client.id, topic: will.topic, delay }, 'last will delayed');
      // Kept in the Store until published or cancelled: if this instance dies meanwhile, the one
      // taking over its duties publishes it when due (Store.claimDeadInstances).
      const delayed = { ...will, delayUntil: Date.now() + delay };
      kept = true;
      await client.persist((id) => store.putWill(id, delayed));
      const id = client.id;
      server.delayedWills.schedule(id, delay, () => {
        void server.publishWill(client, will).then(() => store.deleteWill(id, true).catch((error: unknown) => server.logger.warn({ err: error, clientId: id }, 'could not delete a published will')));
      });
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
  if (!takenOver && !kept) await client.persist((id) => store.deleteWill(id));
}

/**
 * How long the client's will waits once its connection is lost: the Will Delay Interval, bounded
 * by the Session Expiry Interval (the will goes when the session ends, if that comes first).
 */
export function willDelayMs(client: Client): number {
  return Math.min(client.willDelayInterval, client.sessionExpiryInterval) * 1000;
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
