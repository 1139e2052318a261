import type { AuthPacket } from '../connection/inbound-packets.js';
import type { Client } from '../connection/client.js';
import { ProtocolViolation, Reason, refusalCode } from '../connection/reason-codes.js';
import type { AuthenticationMethod, AuthenticationStep } from '../hooks.js';
import { acceptConnect, refuse, type PendingConnect } from './connect.js';

/**
 * Exchanges in progress: the CONNECT waiting for its CONNACK, or null for a re-authentication.
 * Only clients that use enhanced authentication are in here.
 */
const exchanges = new WeakMap<Client, PendingConnect | null>();

/** Whether the client is between its CONNECT and the CONNACK of an AUTH exchange. [MQTT-3.1.2-30] */
export function isAuthenticating(client: Client): boolean {
  return exchanges.get(client) != null;
}

/** A 5.0 CONNECT that names an Authentication Method: unknown methods are refused. [MQTT-4.12.0-1] */
export function startAuthentication(client: Client, pending: PendingConnect, method: string, data: Buffer | undefined): Promise<void> {
  const authenticator = client.server.authenticationMethods[method];
  if (!authenticator) return refuse(client, Reason.BadAuthenticationMethod, `authentication method ${method} is not supported`);
  client.mqtt5!.authenticationMethod = method;
  return step(client, pending, authenticator, data);
}

/** AUTH from the client: the next step of an exchange, or a re-authentication. [MQTT-4.12.1-1] */
export function handleAuth(client: Client, packet: AuthPacket): void | Promise<void> {
  const method = client.mqtt5?.authenticationMethod;
  const violation = (message: string) => client.protocolError(new ProtocolViolation(message, Reason.ProtocolError));
  // [MQTT-4.12.0-7] a client that named no method in CONNECT sends no AUTH.
  if (method === undefined) return violation('AUTH without an Authentication Method in CONNECT');
  // [MQTT-4.12.0-5] the same method throughout.
  if (packet.properties?.authenticationMethod !== method) return violation('AUTH with another Authentication Method');
  const exchange = exchanges.get(client);
  const expected = exchange === undefined ? Reason.ReAuthenticate : Reason.ContinueAuthentication; // [MQTT-4.12.0-3]
  if (packet.reasonCode !== expected) return violation(`AUTH with reason code 0x${packet.reasonCode.toString(16)}`);
  return step(client, exchange ?? null, client.server.authenticationMethods[method]!, packet.properties.authenticationData);
}

/** Asks the method about the client's data and answers: AUTH to go on, CONNACK (or AUTH 0) or a refusal. */
async function step(client: Client, pending: PendingConnect | null, authenticator: AuthenticationMethod, data: Buffer | undefined): Promise<void> {
  let answer: AuthenticationStep;
  try {
    answer = await authenticator(client, data, { reauthenticate: pending === null });
  } catch (error) {
    client.logger.info({ clientId: client.id, err: error }, 'enhanced authentication failed');
    answer = { result: 'fail', reasonCode: refusalCode(error, Reason.NotAuthorized) };
  }
  if (client.closing) return;
  const authenticationMethod = client.mqtt5!.authenticationMethod!;
  switch (answer.result) {
    case 'continue':
      exchanges.set(client, pending);
      // [MQTT-4.12.0-2] [MQTT-4.12.0-5]
      client.write({ cmd: 'auth', reasonCode: Reason.ContinueAuthentication, properties: { authenticationMethod, authenticationData: answer.data } });
      return;
    case 'success':
      exchanges.delete(client);
      if (!pending) {
        client.write({ cmd: 'auth', reasonCode: Reason.Success, properties: { authenticationMethod, authenticationData: answer.data } });
        return;
      }
      pending.authentication = { method: authenticationMethod, data: answer.data };
      return acceptConnect(client, pending);
    default: {
      exchanges.delete(client);
      const reasonCode = answer.reasonCode ?? Reason.NotAuthorized;
      if (pending) return refuse(client, reasonCode, 'not authorized'); // [MQTT-4.12.0-4]
      return client.disconnect(reasonCode, 'not authorized', 're-authentication failed'); // [MQTT-4.12.1-2]
    }
  }
}
