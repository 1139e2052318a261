/** What shutdown needs from the broker: only a close that stops listeners, clients and the store. */
export interface Closable {
  close(): Promise<void>;
}

export interface ShutdownIo {
  /** One line of text for the operator (stderr). */
  say(line: string): void;
  exit(code: number): void;
}

type SignalSource = Pick<NodeJS.Process, 'on' | 'off'>;

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * SIGINT/SIGTERM close the broker gracefully: stop accepting, close clients, close the store (which
 * flushes a durable one), then exit 0. A second signal means "now": exit 1 at once, so a hung
 * store close never traps the operator. Returns a function that removes the handlers.
 */
export function exitOnSignals(broker: Closable, io: ShutdownIo, source: SignalSource = process): () => void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      io.say(`skynet-mqtt: ${signal} again, exiting without waiting`);
      io.exit(1);
      return;
    }
    stopping = true;
    io.say(`skynet-mqtt: ${signal} received, closing (send it again to exit at once)`);
    broker.close().then(
      () => io.exit(0),
      (error: unknown) => {
        io.say(`skynet-mqtt: error while closing: ${error instanceof Error ? error.message : String(error)}`);
        io.exit(1);
      },
    );
  };
  for (const signal of SIGNALS) source.on(signal, onSignal);
  return () => {
    for (const signal of SIGNALS) source.off(signal, onSignal);
  };
}
