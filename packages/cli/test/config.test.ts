import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, killAll, runCli, spawnCli } from '@skynet-mqtt/test-support';
import { connect, nextMessage } from './helpers.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'skynet-cli-config-'));
});
after(async () => {
  await killAll();
  await rm(dir, { recursive: true, force: true });
});

async function startAndStop(args: string[], cwd?: string): Promise<{ banner: string; stderr: string }> {
  const cli = spawnCli(args, { cwd });
  try {
    const banner = await cli.banner();
    return { banner, stderr: cli.stderr };
  } finally {
    cli.child.kill('SIGTERM');
    await cli.exited;
  }
}

test('-c config.json: the port and id come from the file', async () => {
  const port = await freePort();
  const file = join(dir, 'config.json');
  await writeFile(file, JSON.stringify({ port, host: '127.0.0.1', id: 'from-json' }));
  const { banner } = await startAndStop(['-c', file]);
  assert.equal(banner, `skynet-mqtt 0.1.0 listening on mqtt://127.0.0.1:${port} (broker id from-json)`);
});

test('-c config.mjs: the default export is the options', async () => {
  const port = await freePort();
  await writeFile(join(dir, 'config.mjs'), `export default { port: ${port}, host: '127.0.0.1', id: 'from-mjs' };\n`);
  // A relative path is resolved against the working directory.
  const { banner } = await startAndStop(['--config', 'config.mjs'], dir);
  assert.equal(banner, `skynet-mqtt 0.1.0 listening on mqtt://127.0.0.1:${port} (broker id from-mjs)`);
});

test('-c config.cjs: module.exports is the options', async () => {
  const port = await freePort();
  const file = join(dir, 'config.cjs');
  await writeFile(file, `module.exports = { port: ${port}, host: '127.0.0.1', id: 'from-cjs' };\n`);
  const { banner } = await startAndStop(['-c', file]);
  assert.match(banner, new RegExp(`mqtt://127\\.0\\.0\\.1:${port} \\(broker id from-cjs\\)$`));
});

test('the config replaces the flags (Mosca) and says which flags it ignored', async () => {
  const [port, flagPort] = [await freePort(), await freePort()];
  const file = join(dir, 'replace.json');
  await writeFile(file, JSON.stringify({ port, host: '127.0.0.1' }));
  const { banner, stderr } = await startAndStop(['-c', file, '--port', String(flagPort), '--broker-id', 'ignored']);
  assert.match(banner, new RegExp(`:${port} `));
  assert.doesNotMatch(banner, /ignored/);
  assert.match(stderr, /warning: --port, --broker-id ignored: the config file replaces the command line options/);
});

test('a config leaving stats out gets the CLI default: stats on', async () => {
  const file = join(dir, 'stats.json');
  await writeFile(file, JSON.stringify({ port: 0, host: '127.0.0.1', id: 'statsy', statsInterval: 100 }));
  const cli = spawnCli(['-c', file]);
  try {
    const port = Number(/:(\d+) /.exec(await cli.banner())![1]);
    const client = await connect(port);
    const version = nextMessage(client, '$SYS/statsy/version');
    await client.subscribeAsync('$SYS/statsy/version');
    assert.equal((await version).payload, 'skynet-mqtt 0.1.0');
    await client.endAsync(true);
  } finally {
    cli.child.kill('SIGTERM');
    await cli.exited;
  }
});

test('unknown options in the config are printed as a warning, and the broker starts', async () => {
  const file = join(dir, 'unknown.json');
  await writeFile(file, JSON.stringify({ port: 0, host: '127.0.0.1', maxInflight: 10, colour: 'blue' }));
  const { stderr } = await startAndStop(['-c', file]);
  assert.match(stderr, /skynet-mqtt: warning: unknown options ignored: maxInflight, colour\n/);
});

test('malformed JSON exits 1 naming the file and the JSON error', async () => {
  const file = join(dir, 'broken.json');
  await writeFile(file, '{ "port": 1884, }');
  const result = await runCli(['-c', file]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, new RegExp(`skynet-mqtt: the config file ${file.replace(/[.\\]/g, '\\$&')} is not valid JSON: .+`));
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
});

test('a missing config file exits 1 naming it', async () => {
  for (const name of ['nope.json', 'nope.mjs']) {
    const result = await runCli(['-c', join(dir, name)]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`cannot read the config file .*${name.replace('.', '\\.')}`));
  }
});

test('a config module that throws exits 1 with its message', async () => {
  const file = join(dir, 'throws.mjs');
  await writeFile(file, `throw new Error('boom from config');\n`);
  const result = await runCli(['-c', file]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /the config file .*throws\.mjs failed to load: boom from config/);
});

test('an invalid option value exits 1 with the ConfigurationError message, no stack', async () => {
  const file = join(dir, 'invalid.json');
  await writeFile(file, JSON.stringify({ port: 0, maxInflightMessages: 0 }));
  const result = await runCli(['-c', file]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^skynet-mqtt: option maxInflightMessages must be an integer >= 1, got 0\n$/);
});

test('a config that is not an object exits 1', async () => {
  const file = join(dir, 'array.json');
  await writeFile(file, '[1, 2]');
  const result = await runCli(['-c', file]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /must contain an object of Server options/);
});
