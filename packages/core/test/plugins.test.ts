/**
 * What core gives every plugin: loading by a config key (with clear errors), and closing the
 * connections a predicate picks, those still authenticating included.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigurationError, Server } from '../src/index.js';
import { disconnectionOf, useBroker } from './helpers.js';

describe('plugins', () => {
  test('a plugin option that is not an object stops the start with a message naming it', async () => {
    await assert.rejects(Server.start({ port: 0, logger: false, deviceAuth: 'yes' as unknown as Record<string, unknown> }), (error: Error) => {
      assert.ok(error instanceof ConfigurationError);
      assert.match(error.message, /option deviceAuth must be an object/);
      return true;
    });
  });

  test('disconnectClients closes the connections the predicate picks, with the reason, and counts them', async (t) => {
    const broker = await useBroker(t);
    broker.server.authenticate = (client, username, _password, callback) => {
      client.user = username;
      callback(null, true);
    };
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((id) => broker.connect({ clientId: id, username: id === 'c' ? 'keep' : 'drop' })));
    const reasons = Promise.all([disconnectionOf(broker.server, 'a'), disconnectionOf(broker.server, 'b')]);
    assert.equal(await broker.server.disconnectClients((client) => client.user === 'drop', 'token revoked'), 2);
    assert.deepEqual(await reasons, ['token revoked', 'token revoked']);
    assert.equal(c!.client.connected, true);
    assert.ok(a && b);
  });

  test('disconnectClients reaches a connection whose authentication is still running', async (t) => {
    const broker = await useBroker(t);
    let release!: (ok: boolean) => void;
    broker.server.authenticate = (client, username, _password, callback) => {
      client.user = username;
      release = (ok) => callback(null, ok);
    };
    const raw = await broker.raw();
    raw.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'pending', keepalive: 0, username: 'drop' });
    while (!release) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(await broker.server.disconnectClients((client) => client.user === 'drop', 'token revoked'), 1);
    release(true);
    await raw.waitClosed();
    assert.equal(broker.server.clients.pending, undefined, 'a connection closed while authenticating never becomes a client');
  });
});
