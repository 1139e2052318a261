import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, test } from 'node:test';
import { freePort, killAll, runCli } from '@skynet-mqtt/test-support';

after(killAll);

const HINT = "Run 'skynet-mqtt --help' for the list of options.";

test('a port in use exits 1, says so, and suggests another port', async () => {
  const port = await freePort();
  const blocker = net.createServer();
  blocker.listen(port, '127.0.0.1');
  await once(blocker, 'listening');
  try {
    const result = await runCli(['--port', String(port), '--host', '127.0.0.1']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`skynet-mqtt: port ${port} .*already in use`));
    assert.match(result.stderr, new RegExp(`try: skynet-mqtt --port ${port + 1}`));
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  } finally {
    blocker.close();
  }
});

test('an HTTP port in use exits 1 with one line and a hint, not a stack trace (--http-port)', async () => {
  const port = await freePort();
  const blocker = net.createServer();
  blocker.listen(port, '127.0.0.1');
  await once(blocker, 'listening');
  try {
    const result = await runCli(['--only-http', '--http-port', String(port), '--host', '127.0.0.1']);
    assert.equal(result.code, 1);
    assert.deepEqual(result.stderr.trim().split('\n'), [
      `skynet-mqtt: port ${port} on 127.0.0.1 is already in use (another MQTT broker, such as Mosquitto, may be running): stop it or give the http listener another port`,
      `try: skynet-mqtt --http-port ${port + 1}`,
    ]);
  } finally {
    blocker.close();
  }
});

test('--parent-prefix without a parent, or --parent-port 0, exits 2', async () => {
  const alone = await runCli(['--parent-prefix', 'x']);
  assert.equal(alone.code, 2);
  assert.match(alone.stderr, /--parent-prefix needs --parent-host or --parent-port/);
  const zero = await runCli(['--parent-port', '0']);
  assert.equal(zero.code, 2);
  assert.match(zero.stderr, /--parent-port needs the port of the parent broker/);
});

test('every misused flag or command, and every bad value, exits 2 with its reason', async () => {
  const cases: [string[], RegExp][] = [
    [['--authorize-publish', '**'], /--authorize-publish goes with adduser/],
    [['--authorize-subscribe', '**'], /--authorize-subscribe goes with adduser/],
    [['adduser', 'u', 'p'], /usage: skynet-mqtt adduser USER PASS --credentials FILE/],
    [['rmuser', 'u'], /usage: skynet-mqtt rmuser USER --credentials FILE/],
    [['device', 'nope'], /unknown device command 'nope'/],
    [['device', 'token', 'revoke', 'u'], /usage: skynet-mqtt device token/],
    [['--https-static', '.'], /--https-static and --https-bundle need --https-port/],
    [['--https-bundle'], /--https-static and --https-bundle need --https-port/],
    [['--admin-host', '0.0.0.0'], /--admin-host needs --admin-port/],
    [['--admin-port', 'x'], /--admin-port needs a port number/],
    [['--log-format', 'xml'], /--log-format is json or pretty, got 'xml'/],
    [['admin-token', 'extra'], /unknown command 'admin-token'/],
  ];
  for (const [args, message] of cases) {
    const result = await runCli(args);
    assert.equal(result.code, 2, args.join(' '));
    assert.match(result.stderr, message);
  }
});

test('an unknown flag exits 2 with the help hint', async () => {
  const result = await runCli(['--nope']);
  assert.equal(result.code, 2);
  assert.equal(result.stderr, `skynet-mqtt: unknown option '--nope'\n${HINT}\n`);
});

test('bad flag values exit 2', async () => {
  for (const args of [['--port', 'abc'], ['--port', '70000'], ['--port'], ['-p', '--host'], ['--key', 'k.pem'], ['--https-port', '3001'], ['extra']]) {
    const result = await runCli(args);
    assert.equal(result.code, 2, args.join(' '));
    assert.ok(result.stderr.endsWith(`${HINT}\n`), result.stderr);
  }
});

test('--version prints the version and exits 0', async () => {
  for (const flag of ['--version', '-V']) {
    const result = await runCli([flag]);
    assert.deepEqual({ code: result.code, stdout: result.stdout }, { code: 0, stdout: '0.1.0\n' });
  }
});

test('--help lists the flags and exits 0', async () => {
  const result = await runCli(['-h']);
  assert.equal(result.code, 0);
  for (const flag of ['--port', '--config', '--db', '--key', '--http-port', '--very-verbose']) assert.ok(result.stdout.includes(flag), flag);
});

test('a missing TLS key file exits 1 with the path', async () => {
  const result = await runCli(['--key', '/nonexistent/key.pem', '--cert', '/nonexistent/cert.pem', '--secure-port', '0', '--host', '127.0.0.1']);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /skynet-mqtt: cannot read the TLS key file \/nonexistent\/key\.pem/);
});
