/**
 * Mosca's Authorizer as the server's hooks, through real MQTT clients: Mosca's own pbkdf2 entries
 * (made here by pbkdf2-password, the library Mosca used), new scrypt entries, minimatch globs with
 * %u and %c, a user removed while connected, and bad files.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { Authorizer, ConfigurationError, type Credentials, type Server } from '../src/index.js';
import { disconnectionOf, useBroker, type Fixture } from './helpers.js';

type MoscaHasher = (opts: { password: string; salt?: string }, cb: (err: Error | null, password: string, salt: string, hash: string) => void) => void;
const moscaHasher = (createRequire(import.meta.url)('pbkdf2-password') as () => MoscaHasher)();

/** An entry exactly as Mosca's `adduser` wrote it. */
function moscaEntry(password: string, authorizePublish?: string, authorizeSubscribe?: string): Promise<Credentials[string]> {
  return new Promise((resolve, reject) =>
    moscaHasher({ password }, (err, _p, salt, hash) => (err ? reject(err) : resolve(JSON.parse(JSON.stringify({ salt, hash, authorizePublish, authorizeSubscribe })) as Credentials[string]))),
  );
}

function wire(server: Server, authorizer: Authorizer): void {
  server.authenticate = authorizer.authenticate;
  server.authorizePublish = authorizer.authorizePublish;
  server.authorizeSubscribe = authorizer.authorizeSubscribe;
}

/** SUBACK codes for `topics`, over a raw connection as `username` (mqtt.js rejects a 0x80). */
async function grants(broker: Fixture, username: string, clientId: string, topics: string[]): Promise<number[]> {
  const raw = await broker.raw();
  assert.equal((await raw.handshake({ clientId, username, password: Buffer.from('pw') })).returnCode, 0);
  return raw.subscribe(topics.map((topic) => ({ topic, qos: 0 })));
}

async function returnCode(broker: Fixture, username: string | undefined, password: string | undefined, clientId = 'c'): Promise<number> {
  const raw = await broker.raw();
  const connack = await raw.handshake({ clientId, username, password: password === undefined ? undefined : Buffer.from(password) });
  return connack.returnCode!;
}

describe('Authorizer (Mosca credentials)', () => {
  test("reads Mosca's pbkdf2 entries and its own scrypt ones; wrong, missing and unknown credentials get CONNACK 5", async (t) => {
    const broker = await useBroker(t);
    const authorizer = new Authorizer({ mosca: await moscaEntry('old-secret') });
    await authorizer.addUser('modern', 'new-secret');
    assert.match(authorizer.users.modern!.hash, /^scrypt\$/);
    assert.equal(authorizer.users.modern!.salt, undefined);
    wire(broker.server, authorizer);
    assert.equal(await returnCode(broker, 'mosca', 'old-secret'), 0);
    assert.equal(await returnCode(broker, 'modern', 'new-secret'), 0);
    assert.equal(await returnCode(broker, 'mosca', 'new-secret'), 5);
    assert.equal(await returnCode(broker, 'modern', 'old-secret'), 5);
    assert.equal(await returnCode(broker, 'nobody', 'x'), 5);
    assert.equal(await returnCode(broker, 'modern', undefined), 5);
    assert.equal(await returnCode(broker, undefined, undefined), 5);
    assert.equal(await returnCode(broker, 'constructor', 'x'), 5, 'an Object.prototype name is no user');
  });

  test('globs decide publish (refused: the connection closes) and subscribe (SUBACK 0x80); %u and %c are the user and client id', async (t) => {
    const broker = await useBroker(t);
    const authorizer = new Authorizer();
    await authorizer.addUser('sensor', 'pw', 'sensors/%u/*', '{cmd/%c/**,public/**}');
    wire(broker.server, authorizer);
    assert.deepEqual(await grants(broker, 'sensor', 'box1', ['cmd/box1/x', 'cmd/box2/x', 'public/a/b', 'sensors/sensor/t', '#']), [0, 128, 0, 128, 128]);
    const client = await broker.connect({ clientId: 'box1', username: 'sensor', password: 'pw' });
    await client.client.publishAsync('sensors/sensor/temp', '21', { qos: 1 });
    // Packets are handled in order: a SUBACK after the PUBACK shows the connection was kept.
    await client.client.subscribeAsync('public/check');
    const closed = disconnectionOf(broker.server, 'box1');
    client.client.publish('sensors/other/temp', '21', { qos: 1 });
    assert.equal(await closed, 'publish not authorized');
  });

  test('a username holding / or glob characters matches only itself in %u', async (t) => {
    const broker = await useBroker(t);
    const authorizer = new Authorizer();
    await authorizer.addUser('a/b', 'pw', 'u/%u', 'u/%u');
    await authorizer.addUser('*', 'pw', 'u/%u', 'u/%u');
    wire(broker.server, authorizer);
    assert.deepEqual(await grants(broker, 'a/b', 's', ['u/a/b', 'u/a']), [128, 128]);
    assert.deepEqual(await grants(broker, '*', 'st', ['u/*', 'u/anyone']), [0, 128]);
  });

  test('a user removed while connected may no longer subscribe or publish', async (t) => {
    const broker = await useBroker(t);
    const authorizer = new Authorizer();
    await authorizer.addUser('gone', 'pw');
    wire(broker.server, authorizer);
    const raw = await broker.raw();
    assert.equal((await raw.handshake({ clientId: 'g', username: 'gone', password: Buffer.from('pw') })).returnCode, 0);
    assert.deepEqual(await raw.subscribe([{ topic: 'x', qos: 0 }]), [0]);
    assert.equal(await authorizer.rmUser('gone'), true);
    assert.equal(await authorizer.rmUser('gone'), false);
    assert.deepEqual(await raw.subscribe([{ topic: 'y', qos: 0 }], 2), [128]);
    raw.send({ cmd: 'publish', topic: 'x', payload: Buffer.from('no'), qos: 1, messageId: 3, retain: false, dup: false });
    await raw.waitClosed();
  });

  test('files: saved as 2-space JSON readable by the owner only, loaded back; bad files name the fault', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'skynet-credentials-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'credentials.json');
    const authorizer = new Authorizer({ mosca: await moscaEntry('pw', 'a/**') });
    await authorizer.addUser('modern', 'pw');
    await authorizer.save(file);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const text = await readFile(file, 'utf8');
    assert.ok(text.startsWith('{\n  "mosca": {'));
    assert.deepEqual({ ...(await Authorizer.load(file)).users }, { ...authorizer.users });
    assert.deepEqual(Object.keys((await Authorizer.load(join(dir, 'missing.json'), { mustExist: false })).users), []);
    await assert.rejects(Authorizer.load(join(dir, 'missing.json')), ConfigurationError);
    await writeFile(file, '{"u": {"salt": "x"}}');
    await assert.rejects(Authorizer.load(file), /user "u" needs a string "hash"/);
    await writeFile(file, '[1]');
    await assert.rejects(Authorizer.load(file), /must hold an object of users/);
    await writeFile(file, '{');
    await assert.rejects(Authorizer.load(file), /is not valid JSON/);
  });
});
