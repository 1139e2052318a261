import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { TempDirs } from '@skynet-mqtt/test-support';
import { LevelStore } from '../src/index.js';
import { startChild } from './helpers/spawn.js';

const dirs = new TempDirs('skynet-level-');
after(() => dirs.removeAll());

const IN_USE = /is in use by another broker \(LevelDB holds a lock on it\)/;

describe('the database lock', () => {
  test('a second process opening the same path gets a clear error', async () => {
    const path = await dirs.path('db');
    const store = await LevelStore.open({ path });
    const child = startChild('open', path);
    await child.until((lines) => lines.length > 0);
    await child.kill();
    const result = JSON.parse(child.lines[0]!) as { ok?: boolean; error?: string };
    assert.match(result.error ?? 'opened', IN_USE);
    assert.ok(result.error!.includes(path), 'the error names the path');
    await store.close();
  });

  test('a second store in the same process gets the same error; close releases the lock', async () => {
    const path = await dirs.path('db');
    const first = await LevelStore.open({ path });
    await assert.rejects(LevelStore.open({ path }), IN_USE);
    await first.close();
    const second = await LevelStore.open({ path });
    await second.close();
  });

  test('a killed broker does not leave the lock behind', async () => {
    const path = await dirs.path('db');
    const child = startChild('hold', path);
    await child.until((lines) => lines.includes('open'));
    await assert.rejects(LevelStore.open({ path }), IN_USE);
    await child.kill();
    const store = await LevelStore.open({ path });
    await store.close();
  });

  test('a directory holding another LevelDB database is refused', async () => {
    const path = await dirs.path('db');
    const { ClassicLevel } = await import('classic-level');
    const foreign = new ClassicLevel(path);
    await foreign.put('someone', 'else');
    await foreign.close();
    await assert.rejects(LevelStore.open({ path }), /holds a LevelDB database that is not a Skynet MQTT store/);
    // ...and the refusal released the lock.
    await assert.rejects(LevelStore.open({ path }), /not a Skynet MQTT store/);
  });
});
