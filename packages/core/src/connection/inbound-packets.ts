import type mqtt from 'mqtt-packet';
import type { DecodedProperties } from './properties.js';

/**
 * The packets PacketReader hands to the handlers: mqtt-packet's shapes (so handlers read them as
 * mqtt.js users know them), with MQTT 5 properties as properties.ts decodes them (User Properties
 * as ordered pairs, Subscription Identifiers as a list) rather than mqtt-packet's way.
 */
type Decoded<P> = P extends unknown ? Omit<P, 'properties'> & { properties?: DecodedProperties } : never;

export type PublishPacket = Decoded<mqtt.IPublishPacket>;

/** A CONNECT, its will's MQTT 5 properties decoded as well. */
export interface ConnectPacket extends Omit<mqtt.IConnectPacket, 'properties' | 'will'> {
  properties?: DecodedProperties;
  will?: Omit<NonNullable<mqtt.IConnectPacket['will']>, 'properties'> & { properties?: DecodedProperties };
}

export type SubscribePacket = Decoded<mqtt.ISubscribePacket>;
export type UnsubscribePacket = Decoded<mqtt.IUnsubscribePacket>;
export type AcknowledgementPacket = Decoded<mqtt.IPubackPacket | mqtt.IPubrecPacket | mqtt.IPubrelPacket | mqtt.IPubcompPacket>;
export type DisconnectPacket = Decoded<mqtt.IDisconnectPacket>;
export type AuthPacket = Decoded<mqtt.IAuthPacket>;

export type InboundPacket =
  | PublishPacket
  | ConnectPacket
  | SubscribePacket
  | UnsubscribePacket
  | AcknowledgementPacket
  | mqtt.IPingreqPacket
  | DisconnectPacket
  | AuthPacket;
