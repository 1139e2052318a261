import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalHandlers, type Message } from '../src/index.js';

describe('LocalHandlers', () => {
  const message = (topic: string): Message => ({ id: topic, topic, payload: Buffer.from(topic), qos: 0, retain: false });

  test('delivers by MQTT rules, says when a filter gains its first and loses its last handler', () => {
    const handlers = new LocalHandlers();
    const got: string[] = [];
    const one = (m: Message): void => void got.push(`one:${m.topic}`);
    const two = (m: Message): void => void got.push(`two:${m.topic}`);
    assert.equal(handlers.add('a/+', one), true, 'first handler of a/+');
    assert.equal(handlers.add('a/+', two), false);
    assert.equal(handlers.add('#', one), true);
    handlers.deliver(message('a/b'), () => assert.fail('no handler throws'));
    handlers.deliver(message('$SYS/x'), () => assert.fail('no handler throws'));
    assert.deepEqual(got.sort(), ['one:a/b', 'one:a/b', 'two:a/b']);
    assert.equal(handlers.remove('a/+', one), false, 'a/+ keeps a handler');
    assert.equal(handlers.remove('a/+', one), false, 'removing twice changes nothing');
    assert.equal(handlers.remove('a/+', two), true, 'a/+ lost its last handler');
    assert.deepEqual(handlers.filters(), ['#']);
  });

  test('a throwing handler does not keep the others from the message', () => {
    const handlers = new LocalHandlers();
    const errors: unknown[] = [];
    let reached = false;
    handlers.add('t', () => {
      throw new Error('boom');
    });
    handlers.add('t', () => void (reached = true));
    handlers.deliver(message('t'), (error) => errors.push(error));
    assert.equal(reached, true);
    assert.equal(errors.length, 1);
  });

  test('clear() forgets every handler', () => {
    const handlers = new LocalHandlers();
    handlers.add('x', () => assert.fail('cleared'));
    handlers.clear();
    handlers.deliver(message('x'), () => undefined);
    assert.equal(handlers.size, 0);
  });
});
