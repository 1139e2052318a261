import { ConfigurationError } from './options.js';

/** The logger adapters log through: pino's, or any object with these methods. Only plain messages are logged. */
export interface AdapterLogger {
  warn(message: string): void;
  info(message: string): void;
  error(message: string): void;
}

const SILENT: AdapterLogger = { warn() {}, info() {}, error() {} };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads an adapter's options given as plain data (a config file, the CLI): each accessor checks
 * one key and throws a ConfigurationError that names the adapter, the key and an example of what
 * to write, so that a bad configuration stops start-up with a message that says what to fix.
 */
export class AdapterOptions {
  readonly raw: Record<string, unknown>;

  constructor(
    private readonly adapter: string,
    input: unknown,
    example: string,
  ) {
    if (!isRecord(input)) this.fail(`options must be an object such as ${example}`);
    this.raw = input;
  }

  fail(text: string): never {
    throw new ConfigurationError(`${this.adapter}: ${text}`);
  }

  /** Refuses every key not in `known`; `hint` may say where an unknown one should go. */
  onlyKnown(known: readonly string[], hint = ''): void {
    for (const key of Object.keys(this.raw)) {
      if (this.raw[key] !== undefined && !known.includes(key)) this.fail(`unknown option ${key}: known options are ${known.join(', ')}${hint}`);
    }
  }

  string(key: string, example: string): string | undefined {
    const value = this.raw[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value.length === 0) this.fail(`option ${key} must be a non-empty string such as ${example}`);
    return value;
  }

  integer(key: string, min: number, max: number, example: string): number | undefined {
    const value = this.raw[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(`option ${key} must be an integer from ${min} to ${max}, such as ${example}; got ${JSON.stringify(value)}`);
    }
    return value;
  }

  boolean(key: string): boolean | undefined {
    const value = this.raw[key];
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') this.fail(`option ${key} must be true or false; got ${JSON.stringify(value)}`);
    return value;
  }

  record(key: string, example: string): Record<string, unknown> | undefined {
    const value = this.raw[key];
    if (value === undefined) return undefined;
    if (!isRecord(value)) this.fail(`option ${key} must be an object such as ${example}`);
    return value;
  }

  /** `logger`: silent when unset; bound, so pino's methods keep their `this`. */
  logger(key = 'logger'): AdapterLogger {
    const value = this.raw[key];
    if (value === undefined) return SILENT;
    if (!isRecord(value) || !['warn', 'info', 'error'].every((m) => typeof value[m] === 'function')) {
      this.fail(`option ${key} must have warn, info and error methods (a pino logger works)`);
    }
    const logger = value as unknown as AdapterLogger;
    return { warn: (m) => logger.warn(m), info: (m) => logger.info(m), error: (m) => logger.error(m) };
  }
}
