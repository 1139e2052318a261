import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdapterOptions, ConfigurationError } from '../src/index.js';

const refuses = (fn: () => unknown, pattern: RegExp): void => {
  assert.throws(fn, (error: unknown) => error instanceof ConfigurationError && pattern.test(error.message));
};

test('AdapterOptions: values pass through, refusals name the adapter, the key and an example', () => {
  const options = new AdapterOptions('X adapter', { host: 'h', port: 7, flag: true, nested: { a: 1 } });
  assert.equal(options.string('host', '"localhost"'), 'h');
  assert.equal(options.integer('port', 1, 65535, '1883'), 7);
  assert.equal(options.boolean('flag'), true);
  assert.deepEqual(options.record('nested', '{}'), { a: 1 });
  assert.equal(options.string('missing', '"x"'), undefined);
  refuses(() => new AdapterOptions('X adapter', { host: '' }).string('host', '"localhost"'), /^X adapter: option host must be a non-empty string such as "localhost"$/);
  refuses(() => new AdapterOptions('X adapter', { port: 1.5 }).integer('port', 1, 65535, '1883'), /option port must be an integer from 1 to 65535, such as 1883; got 1.5/);
  refuses(() => new AdapterOptions('X adapter', { flag: 'yes' }).boolean('flag'), /option flag must be true or false/);
  refuses(() => new AdapterOptions('X adapter', { nested: [] }).record('nested', '{ a: 1 }'), /option nested must be an object such as \{ a: 1 \}/);
  refuses(() => new AdapterOptions('X adapter', { hots: 'h' }).onlyKnown(['host'], 'pass client options inside clientOptions'), /unknown option hots: known options are host; pass client options inside clientOptions/);
  refuses(() => new AdapterOptions('X adapter', { logger: {} }).logger(), /option logger must have warn, info and error methods/);
});

test('AdapterOptions.storeLimits: Mosca defaults, nested names in messages', () => {
  assert.deepEqual(new AdapterOptions('S', {}).storeLimits(), { ttl: { subscriptions: 3_600_000, packets: 3_600_000 }, maxQueuedMessages: 10_000 });
  assert.deepEqual(new AdapterOptions('S', { ttl: { packets: 5 }, maxQueuedMessages: 3 }).storeLimits(), { ttl: { subscriptions: 3_600_000, packets: 5 }, maxQueuedMessages: 3 });
  refuses(() => new AdapterOptions('S', { ttl: { packets: 0 } }).storeLimits(), /option ttl.packets must be an integer from 1/);
  refuses(() => new AdapterOptions('S', { ttl: { packet: 5 } }).storeLimits(), /unknown option ttl.packet: known options are subscriptions, packets$/);
  assert.doesNotThrow(() => new AdapterOptions('S', { ttl: { checkFrequency: 5 } }).storeLimits(['checkFrequency']));
});

test('AdapterOptions.logger: silent by default, bound methods otherwise', () => {
  new AdapterOptions('S', {}).logger().warn('nothing happens');
  const lines: string[] = [];
  const pinoLike = { prefix: 'p:', warn(this: { prefix: string }, m: string) { lines.push(this.prefix + m); }, info() {}, error() {} };
  new AdapterOptions('S', { logger: pinoLike }).logger().warn('w');
  assert.deepEqual(lines, ['p:w']);
});
