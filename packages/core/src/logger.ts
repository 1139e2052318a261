import { pino, type Logger } from 'pino';

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
