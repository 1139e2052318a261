#!/usr/bin/env -S node --max-semi-space-size=4 --expose-gc
// The young generation is capped at 4 MB: the hot paths allocate little, so this costs no
// measurable throughput, and it keeps an idle broker's memory close to what it holds.
// --expose-gc lets the broker free the buffers of socket reads with a scavenge every 8 MB read
// instead of a mark-compact every ~30 MB (core's connection/read-buffers.ts). See
// docs/performance.md. `npm start` passes the same flags.
import cluster from 'node:cluster';
import { parseCommandLine, runCli, type StartFlags } from './index.js';
import { exitOnSignals } from './shutdown.js';
import { announceToPrimary, serveAsWorker, startWorkers, type WorkerPool } from './workers.js';

const argv = process.argv.slice(2);
const say = (line: string) => process.stderr.write(`${line}\n`);
const exit = (code: number) => process.exit(code);
const flags = startFlags(argv);

if (cluster.isWorker) {
  const outcome = runCli(argv, { announce: announceToPrimary });
  serveAsWorker(
    outcome.then((result) => (result.status === 'running' ? result.broker : null)),
    say,
  );
  const result = await outcome;
  if (result.status === 'exit') exit(result.code);
} else if (flags !== null && flags.workers > 1) {
  const pool = startWorkers(argv, flags, { say, exit, cwd: process.cwd() });
  const running = (then: (started: WorkerPool) => unknown) => pool.then((started) => (typeof started === 'number' ? undefined : then(started)));
  exitOnSignals({ close: async () => void (await running((started) => started.close())) }, { say, exit });
  if (flags.credentials !== undefined) process.on('SIGHUP', () => void running((started) => started.reloadCredentials()));
  const started = await pool;
  if (typeof started === 'number') exit(started);
} else {
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
    { say, exit },
  );
  // Mosca's rule: SIGHUP reads the credentials file again. Installed before the banner too, for the
  // same reason; without --credentials SIGHUP keeps its default effect.
  if (flags?.credentials !== undefined) {
    process.on('SIGHUP', () => {
      void outcome.then((result) => (result.status === 'running' ? result.broker.reloadCredentials?.() : undefined));
    });
  }
  const result = await outcome;
  // stderr writes are synchronous for files, pipes and terminals on POSIX, so exiting right after
  // printing loses nothing; exiting explicitly also ends a store or backend that keeps the loop alive.
  if (result.status === 'exit') exit(result.code);
}

/** The start command's flags, or null for another command or a bad command line (runCli reports it). */
function startFlags(args: string[]): StartFlags | null {
  try {
    const command = parseCommandLine(args);
    return command.kind === 'start' ? command.flags : null;
  } catch {
    return null;
  }
}
