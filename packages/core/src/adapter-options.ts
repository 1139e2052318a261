import { ConfigurationError } from './options.js';
import { DEFAULT_STORE_LIMITS } from './store/store.js';

/** What adapters log through: a pino logger works; only plain messages are logged. */
export interface AdapterLogger {
  warn(message: string): void;
  info(message: string): void;
  error(message: string): void;
}

const silent: AdapterLogger = { warn() {}, info() {}, error() {} };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads the untyped options of an adapter (from a config file or the CLI). Every refusal is a
 * ConfigurationError that names the adapter, the key and an example of a good value, so that a
 * bad configuration stops start-up with a message that says what to fix.
 */
export class AdapterOptions {
  /**
   * @param adapter  named in every message, e.g. 'MongoDB store'
   * @param values   the options as given
   * @param path     the key of `values` inside its parent ('ttl' for ttl.packets), for messages
   */
  constructor(
    readonly adapter: string,
    readonly values: Record<string, unknown>,
    private readonly path = '',
  ) {
    if (!isRecord(values)) this.fail(`${path ? `option ${path}` : 'options'} must be an object`);
  }

  fail(text: string): never {
    throw new ConfigurationError(`${this.adapter}: ${text}`);
  }

  /** The full name of `key`, for messages ('ttl.packets'). */
  name(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }

  /** Refuses every key not in `known`; `hint` ends the message (where other options go). */
  onlyKnown(known: readonly string[], hint = ''): void {
    for (const key of Object.keys(this.values)) {
      if (this.values[key] === undefined || known.includes(key)) continue;
      this.fail(`unknown option ${this.name(key)}: known options are ${known.join(', ')}${hint ? `; ${hint}` : ''}`);
    }
  }

  string(key: string, example: string): string | undefined {
    const value = this.values[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value.length === 0) this.fail(`option ${this.name(key)} must be a non-empty string such as ${example}`);
    return value;
  }

  integer(key: string, min: number, max: number, example: string): number | undefined {
    const value = this.values[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(`option ${this.name(key)} must be an integer from ${min} to ${max}, such as ${example}; got ${JSON.stringify(value)}`);
    }
    return value;
  }

  boolean(key: string): boolean | undefined {
    const value = this.values[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') this.fail(`option ${this.name(key)} must be true or false; got ${JSON.stringify(value)}`);
    return value;
  }

  /** A nested object, read with its own AdapterOptions (names in messages keep the path). */
  nested(key: string, example: string): AdapterOptions | undefined {
    const value = this.values[key];
    if (value === undefined) return undefined;
    if (!isRecord(value)) this.fail(`option ${this.name(key)} must be an object such as ${example}`);
    return new AdapterOptions(this.adapter, value, this.name(key));
  }

  /** An object passed on as it is to a client library (driver options and the like). */
  record(key: string, example: string): Record<string, unknown> | undefined {
    return this.nested(key, example)?.values;
  }

  /** The `logger` option: anything with warn, info and error methods; silent when unset. */
  logger(): AdapterLogger {
    const value = this.values.logger;
    if (value === undefined) return silent;
    if (!isRecord(value) || !['warn', 'info', 'error'].every((m) => typeof value[m] === 'function')) {
      this.fail('option logger must have warn, info and error methods (a pino logger works)');
    }
    const logger = value as unknown as AdapterLogger;
    // Bound, so pino's methods keep their `this`.
    return { warn: (m) => logger.warn(m), info: (m) => logger.info(m), error: (m) => logger.error(m) };
  }

  /**
   * The limits every Store takes, with Mosca's names and defaults: `ttl.subscriptions`,
   * `ttl.packets` (milliseconds) and `maxQueuedMessages`. `extraTtlKeys` are accepted in `ttl`.
   */
  storeLimits(extraTtlKeys: readonly string[] = []): { ttl: { subscriptions: number; packets: number }; maxQueuedMessages: number } {
    const ttl = this.nested('ttl', '{ subscriptions: 3600000, packets: 3600000 } (milliseconds)');
    ttl?.onlyKnown(['subscriptions', 'packets', ...extraTtlKeys]);
    const ms = (key: string, fallback: number): number => ttl?.integer(key, 1, Number.MAX_SAFE_INTEGER, '3600000') ?? fallback;
    return {
      ttl: { subscriptions: ms('subscriptions', DEFAULT_STORE_LIMITS.subscriptionsTtl), packets: ms('packets', DEFAULT_STORE_LIMITS.packetsTtl) },
      maxQueuedMessages: this.integer('maxQueuedMessages', 1, Number.MAX_SAFE_INTEGER, '10000') ?? DEFAULT_STORE_LIMITS.maxQueuedMessages,
    };
  }
}
