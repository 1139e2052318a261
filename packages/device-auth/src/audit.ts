import type { Server } from '@skynet-mqtt/core';
import type { DeviceNotice } from './device-service.js';

/** At most one failure event per this many milliseconds, carrying how many happened meanwhile. */
const FAILURE_EVENT_INTERVAL = 10_000;

/**
 * The audit trail: a log line and a `$SYS/<broker id>/auth/<action>` event for each change a
 * broker applies (registered, updated, reset, revoked, unregistered) and for failed
 * authentications, rate-limited in both places. Nothing here ever holds a token.
 */
export class Audit {
  private lastFailureEvent = 0;
  private failuresSince = 0;

  constructor(private readonly server: Server) {}

  change(notice: DeviceNotice, disconnected: number): void {
    const { action, uuid, tag, by, tokens } = notice;
    const event = { uuid, by, ...(tag !== undefined && { tag }), ...(tokens && { tokens: tokens.length }), disconnected };
    this.server.logger.info(event, `device ${action}`);
    this.server.publishEvent(`auth/${action}`, JSON.stringify(event));
  }

  failure(name: string | undefined, address: string, reason: string): void {
    // Whatever a client sent as its username, only a bounded piece of it is repeated.
    const username = name && name.length > 64 ? `${name.slice(0, 64)}…` : name;
    this.server.rateLimitedLog.warn(`device-auth:${reason}`, { username, address, reason }, 'authentication failed');
    this.failuresSince++;
    const now = Date.now();
    if (now - this.lastFailureEvent < FAILURE_EVENT_INTERVAL) return;
    this.server.publishEvent('auth/failures', JSON.stringify({ username, address, reason, count: this.failuresSince }));
    this.lastFailureEvent = now;
    this.failuresSince = 0;
  }
}
