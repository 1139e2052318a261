// What every generator scenario returns, and what it is given.
import type { Window } from '../meter.js';
import type { Target } from './client.js';

export interface RunContext {
  /** Where publishers connect. */
  readonly target: Target;
  /** Where subscribers connect: another instance of a cluster, or `target`. */
  readonly subscriberTarget: Target;
  /** The broker's processes (two for a cluster), for their CPU and RSS. */
  readonly brokerPids: readonly number[];
  /** Unique per measurement: keeps topics and client ids of consecutive runs apart. */
  readonly tag: string;
  /** Hard cap on one measurement. */
  readonly timeoutMs: number;
}

export interface Outcome {
  /** Deliveries expected at the subscribers (messages × subscribers). */
  readonly expected: number;
  /** Distinct deliveries seen. */
  readonly received: number;
  readonly duplicates: number;
  /** Socket errors, unexpected closes, refused handshakes, malformed frames, timeouts. */
  readonly error: string | undefined;
  readonly window: Window;
  /** The scenario's figures, e.g. msgsPerS, deliveriesPerS, p50Us, connsPerS. */
  readonly metrics: Readonly<Record<string, number>>;
}
