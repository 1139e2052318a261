/**
 * The authenticate hook (Mosca's contract): its verdicts become CONNACK return codes, in each of
 * the hook styles, and `client.user` set there reaches the later hooks.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Client, Hooks } from '../src/index.js';
import { useBroker, waitFor, type Fixture } from './helpers.js';

type Authenticate = NonNullable<Hooks['authenticate']>;

/** Connects raw with credentials under `authenticate` and returns the CONNACK return code. */
async function returnCodeWith(broker: Fixture, authenticate: Authenticate): Promise<number> {
  broker.server.authenticate = authenticate;
  const raw = await broker.raw();
  const connack = await raw.handshake({ clientId: 'auth', username: 'alice', password: Buffer.from('secret') });
  // [MQTT-3.2.2-5] a non-zero return code is followed by closing the connection.
  if (connack.returnCode !== 0) await raw.waitClosed();
  return connack.returnCode!;
}

describe('authenticate', () => {
  test('receives the client, the username and the password as a Buffer', async (t) => {
    const broker = await useBroker(t);
    const calls: unknown[][] = [];
    const code = await returnCodeWith(broker, (client, username, password, callback) => {
      calls.push([client.id, username, password]);
      callback(null, true);
    });
    assert.equal(code, 0);
    assert.deepEqual(calls, [['auth', 'alice', Buffer.from('secret')]]);
  });

  test('callback error → CONNACK 4 (bad user name or password)', async (t) => {
    const broker = await useBroker(t);
    assert.equal(await returnCodeWith(broker, (_c, _u, _p, callback) => callback(new Error('wrong password'))), 4);
  });

  test('callback false → CONNACK 5 (not authorized)', async (t) => {
    const broker = await useBroker(t);
    assert.equal(await returnCodeWith(broker, (_c, _u, _p, callback) => callback(null, false)), 5);
  });

  test('callback true → CONNACK 0', async (t) => {
    const broker = await useBroker(t);
    assert.equal(await returnCodeWith(broker, (_c, _u, _p, callback) => setImmediate(() => callback(null, true))), 0);
  });

  test('promise form: resolved true → 0, resolved false → 5, rejected → 4', async (t) => {
    const broker = await useBroker(t);
    assert.equal(await returnCodeWith(broker, async () => true), 0);
    assert.equal(await returnCodeWith(broker, async () => false), 5);
    assert.equal(await returnCodeWith(broker, async () => Promise.reject(new Error('down'))), 4);
  });

  test('a refused client is never connected', async (t) => {
    const broker = await useBroker(t);
    let connected = 0;
    broker.server.on('clientConnected', () => connected++);
    assert.equal(await returnCodeWith(broker, (_c, _u, _p, callback) => callback(null, false)), 5);
    assert.equal(connected, 0);
    assert.equal(broker.server.clients.auth, undefined);
  });

  test('client.user set in authenticate is visible in authorizePublish', async (t) => {
    const broker = await useBroker(t);
    broker.server.authenticate = (client, username, _password, callback) => {
      client.user = { name: username, role: 'writer' };
      callback(null, true);
    };
    const seen: unknown[] = [];
    broker.server.authorizePublish = (client: Client, _topic, _payload, callback) => {
      seen.push(client.user);
      callback(null, true);
    };
    const publisher = await broker.connect({ username: 'bob', password: 'pw' });
    await publisher.client.publishAsync('secured', 'x', { qos: 1 });
    await waitFor(() => seen.length === 1, 'authorizePublish');
    assert.deepEqual(seen, [{ name: 'bob', role: 'writer' }]);
  });
});
