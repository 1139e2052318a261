import type { DeviceRecord } from './records.js';
import type { DeviceRegistry } from './registry.js';

/** Records kept at most, and for how long: a change elsewhere also evicts at once (notices). */
const MAX_DEVICES = 10_000;
const TTL = 5_000;

/**
 * Device records as the permission checks read them (every SUBSCRIBE and delivery of a device):
 * cached briefly, and forgotten as soon as a notice says the device changed, on any instance.
 */
export class DeviceCache {
  private readonly entries = new Map<string, { record: Promise<DeviceRecord | null>; until: number }>();

  constructor(private readonly registry: DeviceRegistry) {}

  get(uuid: string): Promise<DeviceRecord | null> {
    const now = Date.now();
    const entry = this.entries.get(uuid);
    if (entry && entry.until > now) return entry.record;
    if (this.entries.size >= MAX_DEVICES) this.entries.delete(this.entries.keys().next().value!);
    const record = this.registry.get(uuid);
    this.entries.set(uuid, { record, until: now + TTL });
    record.catch(() => this.entries.delete(uuid));
    return record;
  }

  forget(uuid: string): void {
    this.entries.delete(uuid);
  }
}
