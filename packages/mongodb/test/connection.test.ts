import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MongoNetworkError, MongoServerError } from 'mongodb';
import { ClosedError, isDuplicateKey, isTransientError, MongoConnection, retryDelay } from '../src/connection.js';

function recordingLogger(): { lines: string[]; warn(m: string): void; info(m: string): void; error(m: string): void } {
  const lines: string[] = [];
  return { lines, warn: (m) => lines.push(`warn ${m}`), info: (m) => lines.push(`info ${m}`), error: (m) => lines.push(`error ${m}`) };
}

test('network, server selection and failover errors are waited out; others are not', () => {
  assert.ok(isTransientError(new MongoNetworkError('connection reset')));
  assert.ok(isTransientError({ name: 'MongoServerSelectionError' }));
  assert.ok(isTransientError(new MongoServerError({ message: 'not primary', code: 10107 })));
  assert.ok(isTransientError(new MongoServerError({ message: 'x', code: 1, errorLabels: ['RetryableWriteError'] })));
  assert.ok(!isTransientError(new MongoServerError({ message: 'duplicate key', code: 11000 })));
  assert.ok(!isTransientError(new Error('bug')));
  assert.ok(!isTransientError(null));
  assert.ok(isDuplicateKey(new MongoServerError({ message: 'dup', code: 11000 })));
  assert.deepEqual([1, 2, 10, 50].map(retryDelay), [100, 200, 1_000, 2_000]);
});

test('a call made while MongoDB is away is made again until it succeeds; the outage is logged once', async () => {
  const logger = recordingLogger();
  // The client connects only when used: these calls never touch it.
  const connection = new MongoConnection('mongodb://127.0.0.1:1/x', 'x', {}, 'test', logger);
  let attempts = 0;
  const result = await connection.run(async () => {
    if (++attempts < 4) throw new MongoNetworkError('down');
    return 'done';
  });
  assert.equal(result, 'done');
  assert.equal(attempts, 4);
  assert.equal(logger.lines.filter((l) => l.startsWith('warn') && l.includes('MongoDB unreachable')).length, 1);
  assert.equal(logger.lines.filter((l) => l.startsWith('info') && l.includes('reachable again')).length, 1);
  await assert.rejects(connection.run(async () => Promise.reject(new Error('a bad call'))), /a bad call/);
  await connection.close();
});

test('close() ends a call that waits out an outage, at once', async () => {
  const connection = new MongoConnection('mongodb://127.0.0.1:1/x', 'x', {}, 'test', recordingLogger());
  const waiting = connection.run(() => Promise.reject(new MongoNetworkError('down')));
  setTimeout(() => void connection.close(), 50);
  await assert.rejects(waiting, (error: unknown) => error instanceof ClosedError);
});
