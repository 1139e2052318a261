import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigurationError } from '@skynet-mqtt/core';
import { resolveOptions } from '../src/options.js';

const resolve = (options: Record<string, unknown>) => resolveOptions(options, 'id1');

describe('AMQP options', () => {
  test('defaults', () => {
    const r = resolve({});
    assert.equal(r.url, 'amqp://127.0.0.1:5672');
    assert.equal(r.exchange, 'skynet-mqtt');
    assert.equal(r.prefetch, 1000);
    assert.equal(r.queueExpires, 60_000);
    assert.match(r.connectionName, /^skynet-mqtt .* id1$/);
  });

  test("Mosca's amqp (node-amqp) shape: client { host, port, login, password, vhost } becomes a URL", () => {
    const r = resolve({ client: { host: 'rabbit', port: 5673, login: 'u', password: 'p@ss', vhost: '/prod' }, exchange: 'ascolatore5672' });
    assert.equal(r.url, 'amqp://u:p%40ss@rabbit:5673/%2Fprod');
    assert.equal(r.safeUrl, 'amqp://u:***@rabbit:5673/%2Fprod', 'the password is not logged');
    assert.equal(r.exchange, 'ascolatore5672');
  });

  test("Mosca's amqplib shape: url, exchange, socketOptions; the amqp module option is accepted", () => {
    const r = resolve({ url: 'amqps://h', exchange: 'e', socketOptions: { heartbeat: 5 }, amqp: {} });
    assert.equal(r.url, 'amqps://h');
    assert.deepEqual(r.socketOptions, { heartbeat: 5 });
  });

  const errors: [Record<string, unknown>, RegExp][] = [
    [{ exchnage: 'x' }, /unknown option exchnage: known options are url, client, exchange/],
    [{ url: 'http://x' }, /option url must start with amqp:\/\/ or amqps:\/\//],
    [{ url: 'amqp://a', client: {} }, /either url or client/],
    [{ client: { hots: 'x' } }, /unknown option client\.hots/],
    [{ prefetch: 0 }, /option prefetch must be an integer from 1 to 65535/],
    [{ exchange: 'amq.topic' }, /must not start with "amq\."/],
    [{ exchange: 'x'.repeat(201) }, /at most 200 bytes/],
    [{ queueExpires: 'soon' }, /option queueExpires must be an integer/],
    [{ logger: {} }, /option logger must have warn, info and error methods/],
  ];
  for (const [options, message] of errors) {
    test(`refused with a message naming the key: ${JSON.stringify(options).slice(0, 60)}`, () => {
      assert.throws(() => resolve(options), (error: Error) => error instanceof ConfigurationError && message.test(error.message) && error.message.startsWith('AMQP backend: '));
    });
  }
});
