/** A configuration the broker cannot start with; the message says what to change. */
export class ConfigurationError extends Error {
  override name = 'ConfigurationError';

  /** `port` is set when the error is a listening port already taken. */
  constructor(
    message: string,
    readonly port?: number,
  ) {
    super(message);
  }
}
