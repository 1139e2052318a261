import { CONTROL_LEVEL } from '../control/control-channel.js';
import type { Client } from '../connection/client.js';

/**
 * Which broker-owned topics clients may touch. `$SYS` is the broker's to write (as in
 * Mosquitto): a client's PUBLISH there is acknowledged and dropped. `$CONTROL` carries the traffic
 * between broker instances: clients may neither write nor read it. Reading `$SYS` is configurable
 * per kind of topic (`sysAccess`).
 */

/** Who may read a kind of `$SYS` topic: every client, clients an `authenticate` hook accepted with a username, or none. */
export type SysAudience = 'all' | 'authenticated' | 'none';

export interface SysAccessOptions {
  /** Broker statistics (`$SYS/<id>/uptime`, `.../clients/connected`, ...): aggregate figures. */
  stats: SysAudience;
  /** Per-client events carrying client ids and topics (`.../new/clients`, `.../new/subscribes`, ...). */
  clientEvents: SysAudience;
}

export const DEFAULT_SYS_ACCESS: SysAccessOptions = { stats: 'all', clientEvents: 'authenticated' };

/** `$SYS/<broker id>/<event>` topics that name clients or their subscriptions. Add new ones here. */
const CLIENT_EVENTS: ReadonlySet<string> = new Set(['new/clients', 'disconnect/clients', 'new/subscribes', 'new/unsubscribes']);

function isUnder(topic: string, level: string): boolean {
  return topic.startsWith(level) && (topic.length === level.length || topic.charCodeAt(level.length) === 47 /* / */);
}

/** Whether `topic` (or filter) lies under the control level. */
export function isControlTopic(topic: string): boolean {
  return isUnder(topic, CONTROL_LEVEL);
}

/** Why `server.publish()` refuses `topic`, or null: the control level is the ControlChannel's. */
export function controlTopicError(topic: string): string | null {
  return isControlTopic(topic) ? `${CONTROL_LEVEL} is the broker's control channel: use server.control.send()` : null;
}

/** Whether a client may publish to `topic` (also its will): not under `$SYS` nor `$CONTROL`. */
export function clientMayPublish(topic: string): boolean {
  if (topic.charCodeAt(0) !== 36 /* $ */) return true;
  return !isUnder(topic, '$SYS') && !isControlTopic(topic);
}

/** Whether a client may subscribe to `filter`: anything but the control level (wildcards never match it). */
export function clientMaySubscribe(filter: string): boolean {
  return !isControlTopic(filter);
}

/** Whether `topic` is one of the per-client `$SYS` events. */
export function isClientEvent(topic: string): boolean {
  // $SYS/<broker id>/<event>
  const idEnd = topic.indexOf('/', 5);
  return idEnd > 5 && CLIENT_EVENTS.has(topic.slice(idEnd + 1));
}

function admits(audience: SysAudience, client: Client): boolean {
  return audience === 'all' || (audience === 'authenticated' && client.authenticated);
}

/** Decides, per `$SYS` message, which subscribed clients may receive it. */
export class SysReadAccess {
  private readonly stats: ((client: Client) => boolean) | undefined;
  private readonly clientEvents: ((client: Client) => boolean) | undefined;

  constructor(options: SysAccessOptions) {
    this.stats = options.stats === 'all' ? undefined : (client) => admits(options.stats, client);
    this.clientEvents = options.clientEvents === 'all' ? undefined : (client) => admits(options.clientEvents, client);
  }

  /** The test a `$SYS` message's receivers must pass, or undefined when every subscriber may read it. */
  audienceOf(topic: string): ((client: Client) => boolean) | undefined {
    return isClientEvent(topic) ? this.clientEvents : this.stats;
  }

  mayRead(client: Client, topic: string): boolean {
    if (!isUnder(topic, '$SYS')) return true;
    const audience = this.audienceOf(topic);
    return !audience || audience(client);
  }
}
