#!/usr/bin/env -S node --max-semi-space-size=4
// The young generation is capped at 4 MB: the hot paths allocate little, so this costs no
// measurable throughput, and it keeps an idle broker's memory close to what it holds
// (docs/performance.md). `npm start` passes the same flag.
import { parseCommandLine, runCli } from './index.js';
import { exitOnSignals } from './shutdown.js';

const argv = process.argv.slice(2);
const outcome = runCli(argv);
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
// Mosca's rule: SIGHUP reads the credentials file again. Installed before the banner too, for the
// same reason; without --credentials SIGHUP keeps its default effect.
if (usesCredentials(argv)) {
  process.on('SIGHUP', () => {
    void outcome.then((result) => (result.status === 'running' ? result.broker.reloadCredentials?.() : undefined));
  });
}
const result = await outcome;
// stderr writes are synchronous for files, pipes and terminals on POSIX, so exiting right after
// printing loses nothing; exiting explicitly also ends a store or backend that keeps the loop alive.
if (result.status === 'exit') process.exit(result.code);

function usesCredentials(args: string[]): boolean {
  try {
    const command = parseCommandLine(args);
    return command.kind === 'start' && command.flags.credentials !== undefined;
  } catch {
    return false; // runCli reports the usage error
  }
}
