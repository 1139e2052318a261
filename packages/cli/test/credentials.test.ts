/**
 * Mosca's credentials file with the real command: adduser, a broker started with --credentials,
 * publishes and subscriptions allowed and refused by the globs, a Mosca file made by Mosca's
 * hashing library, rmuser and SIGHUP reload, and the command-line errors.
 */
import assert from 'node:assert/strict';
import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { killAll, runCli, startBroker, TempDirs, waitForLine } from '@skynet-mqtt/test-support';
import { connect } from './helpers.js';

const dirs = new TempDirs('skynet-cli-credentials-');
after(async () => {
  await killAll();
  await dirs.removeAll();
});

const moscaFixture = fileURLToPath(new URL('../../test/fixtures/mosca-credentials.json', import.meta.url));

async function refused(port: number, username: string, password: string): Promise<boolean> {
  return connect(port, { username, password }).then(
    (client) => {
      client.end(true);
      return false;
    },
    () => true,
  );
}

function closes(client: Awaited<ReturnType<typeof connect>>): Promise<void> {
  return new Promise((resolve) => client.once('close', () => resolve()));
}

test('adduser, --credentials, globs with %u, rmuser and SIGHUP reload; a Mosca file works as it is', async () => {
  const dir = await dirs.make();
  const file = join(dir, 'credentials.json');
  await copyFile(moscaFixture, file);
  const added = await runCli(['adduser', 'alice', 'alice-pass', '--credentials', file, '--authorize-publish', 'home/%u/**', '--authorize-subscribe', 'home/**']);
  assert.equal(added.code, 0, added.stderr);
  const stored = JSON.parse(await readFile(file, 'utf8')) as Record<string, { hash: string; salt?: string; authorizePublish: string }>;
  assert.match(stored.alice!.hash, /^scrypt\$/);
  assert.equal(stored.alice!.authorizePublish, 'home/%u/**');
  assert.ok(stored.mosca!.salt, "Mosca's entry is kept as it was");

  const broker = await startBroker(['-p', '0', '--host', '127.0.0.1', '--credentials', file]);
  assert.equal(await refused(broker.port, 'alice', 'wrong'), true);
  assert.equal(await refused(broker.port, 'nobody', 'x'), true);

  const mosca = await connect(broker.port, { username: 'mosca', password: 'mosca-pass' });
  await mosca.subscribeAsync('legacy/#');
  const alice = await connect(broker.port, { username: 'alice', password: 'alice-pass', clientId: 'alice-1' });
  await alice.subscribeAsync('home/#');
  await assert.rejects(alice.subscribeAsync('legacy/#'), 'SUBACK 0x80 outside the subscribe glob');
  const got = new Promise<string>((resolve) => alice.once('message', (topic) => resolve(topic)));
  await alice.publishAsync('home/alice/lamp', 'on', { qos: 1 });
  assert.equal(await got, 'home/alice/lamp');
  const aliceClosed = closes(alice);
  alice.publish('home/bob/lamp', 'on', { qos: 1 });
  await aliceClosed;

  const removed = await runCli(['rmuser', 'alice', '--credentials', file]);
  assert.equal(removed.code, 0, removed.stderr);
  assert.equal(await refused(broker.port, 'bob', 'bob-pass'), true);
  assert.equal((await runCli(['adduser', 'bob', 'bob-pass', '--credentials', file])).code, 0);
  assert.equal(await refused(broker.port, 'alice', 'alice-pass'), false, 'nothing changes before SIGHUP');
  broker.child.kill('SIGHUP');
  await waitForLine(broker, 'reloaded (2 users)');
  assert.equal(await refused(broker.port, 'alice', 'alice-pass'), true);
  assert.equal(await refused(broker.port, 'bob', 'bob-pass'), false);
  mosca.end(true);
  await broker.stop();
});

test('a broken file at SIGHUP keeps the users in force; command-line errors', async () => {
  const dir = await dirs.make();
  const file = join(dir, 'credentials.json');
  assert.equal((await runCli(['adduser', 'carol', 'pw', '--credentials', file])).code, 0);
  const broker = await startBroker(['-p', '0', '--host', '127.0.0.1', '--credentials', file]);
  await copyFile(fileURLToPath(import.meta.url), file); // not JSON
  broker.child.kill('SIGHUP');
  await waitForLine(broker, 'the users loaded before stay in force');
  assert.equal(await refused(broker.port, 'carol', 'pw'), false);
  await broker.stop();

  const usage = await runCli(['adduser', 'x', 'y']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /usage: skynet-mqtt adduser USER PASS --credentials FILE/);
  assert.equal((await runCli(['--credentials', file, '--device-auth'])).code, 2);
  assert.equal((await runCli(['--authorize-publish', 'a/**'])).code, 2);
  const missing = await runCli(['rmuser', 'nobody', '--credentials', join(dir, 'none.json')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /cannot read the credentials file/);
  const unreadable = await runCli(['-p', '0', '--credentials', join(dir, 'none.json')]);
  assert.equal(unreadable.code, 1);
});
