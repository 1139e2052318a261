/**
 * A second process for the tests that need one: LevelDB's lock is per process, and only a real
 * SIGKILL shows what survives a crash. Modes:
 *   open <path>     try to open the store; print {"ok":true} or {"error":"..."}; exit
 *   hold <path>     open the store, print "open", wait to be killed
 *   enqueue <path>  open, then enqueue QoS 1 messages to client "c", printing each index once
 *                   its promise resolved (acknowledged), until killed
 */
import { LevelStore } from '../../src/index.js';

const [mode, path] = process.argv.slice(2);
if (!mode || !path) throw new Error('usage: child.js open|hold|enqueue <path>');

if (mode === 'open') {
  try {
    const store = await LevelStore.open({ path });
    await store.close();
    process.stdout.write(JSON.stringify({ ok: true }) + '\n');
  } catch (error) {
    process.stdout.write(JSON.stringify({ error: (error as Error).message }) + '\n');
  }
} else {
  const store = await LevelStore.open({ path });
  if (mode === 'hold') {
    process.stdout.write('open\n');
    setInterval(() => undefined, 60_000);
  } else if (mode === 'enqueue') {
    await store.createSession('c');
    for (let i = 0; ; i++) {
      await store.enqueue('c', { id: `crash-${i}`, topic: 'crash', payload: Buffer.from(String(i)), qos: 1, retain: false });
      process.stdout.write(`${i}\n`);
    }
  }
}
