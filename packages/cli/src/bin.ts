#!/usr/bin/env -S node --max-semi-space-size=4
// The young generation is capped at 4 MB: the hot paths allocate little, so this costs no
// measurable throughput, and it keeps an idle broker's memory close to what it holds
// (docs/performance.md). `npm start` passes the same flag.
import { runCli } from './index.js';
import { exitOnSignals } from './shutdown.js';

const outcome = runCli(process.argv.slice(2));
// Handlers go in before the banner can be printed: a supervisor may signal as soon as it sees it,
// and a signal that arrives before process.on() would kill us with the default action, not exit 0.
// A signal during start-up waits for the start, then closes what was started.
exitOnSignals(
  {
    close: async () => {
      const result = await outcome;
// Mosca's rule: SIGHUP reads the credentials file again.
if (result.status === 'running' && result.broker.reloadCredentials) {
  const reload = result.broker.reloadCredentials;
  process.on('SIGHUP', () => void reload());
}
      if (result.status === 'running') await result.broker.close();
    },
  },
  { say: (line) => process.stderr.write(`${line}\n`), exit: (code) => process.exit(code) },
);
const result = await outcome;
// Mosca's rule: SIGHUP reads the credentials file again.
if (result.status === 'running' && result.broker.reloadCredentials) {
  const reload = result.broker.reloadCredentials;
  process.on('SIGHUP', () => void reload());
}
// stderr writes are synchronous for files, pipes and terminals on POSIX, so exiting right after
// printing loses nothing; exiting explicitly also ends a store or backend that keeps the loop alive.
if (result.status === 'exit') process.exit(result.code);
