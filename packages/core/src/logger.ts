import { pino, type Level, type Logger } from 'pino';

/**
 * The broker's logger. Mosca's `logger` option is kept: pino options, `{ childOf: parentLogger }`,
 * or `false` for none. Logs are pino JSON on stdout at `warn` unless told otherwise.
 */
export function createLogger(option: Record<string, unknown> | false | undefined): Logger {
  if (option === false) return pino({ level: 'silent' });
  const { childOf, ...rest } = option ?? {};
  if (childOf && typeof (childOf as Logger).child === 'function') return (childOf as Logger).child({ name: 'skynet-mqtt', ...rest });
  return pino({ name: 'skynet-mqtt', level: 'warn', ...rest });
}

/**
 * Whether `logger` writes messages at `level`. A `childOf` parent need not be pino (Mosca's users
 * passed bunyan loggers): one without `isLevelEnabled` is taken to write every level.
 */
export function logsAt(logger: Logger, level: Level): boolean {
  return typeof logger.isLevelEnabled === 'function' ? logger.isLevelEnabled(level) : true;
}

/**
 * Logs a recurring condition (a message dropped, a refused publish, ...) at most once per
 * `intervalMs` per key, with the number of occurrences left out since the last line: a flood of
 * drops costs a counter, not a log line each. Keys are reasons, never client ids, so the map
 * stays small.
 */
export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 10_000,
  ) {}

  warn(key: string, fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    const entry = this.last.get(key);
    if (entry && now - entry.at < this.intervalMs) {
      entry.suppressed++;
      return;
    }
    const suppressed = entry?.suppressed ?? 0;
    this.logger.warn(suppressed > 0 ? { ...fields, suppressed } : fields, message);
    this.last.set(key, { at: now, suppressed: 0 });
  }
}
