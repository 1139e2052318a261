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
      if (result.status === 'running') await result.broker.close();
    },
  },
  { say: (line) => process.stderr.write(`${line}\n`), exit: (code) => process.exit(code) },
);
// Mosca's rule: SIGHUP reads the credentials file again. Its handler goes in before the banner too
// (a supervisor that signals on seeing it would otherwise kill the process). Without --credentials
// SIGHUP keeps its default action, re-raised if it came during start-up.
const reloadCredentials = outcome.then((result) => (result.status === 'running' ? result.broker.reloadCredentials : undefined));
const onHangUp = (): void => {
  void reloadCredentials.then((reload) => {
    if (reload) return reload();
    process.off('SIGHUP', onHangUp);
    process.kill(process.pid, 'SIGHUP');
  });
};
process.on('SIGHUP', onHangUp);
void reloadCredentials.then((reload) => {
  if (!reload) process.off('SIGHUP', onHangUp);
});
const result = await outcome;
// stderr writes are synchronous for files, pipes and terminals on POSIX, so exiting right after
// printing loses nothing; exiting explicitly also ends a store or backend that keeps the loop alive.
if (result.status === 'exit') process.exit(result.code);
