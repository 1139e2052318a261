/**
 * A packet the specification says must close the connection: malformed, or out of the protocol's
 * order. The message names the normative statement. `connackReturnCode` is set when the refusal
 * is answered first (an unsupported protocol level: CONNACK 1 [MQTT-3.1.2-2]).
 */
export class ProtocolError extends Error {
  override name = 'ProtocolError';

  constructor(
    message: string,
    readonly connackReturnCode?: number,
  ) {
    super(message);
  }
}
