import type { Message, QoS } from '../types.js';
import { encodePublish, type PublishBytes, type ServerPacket } from './encoder.js';
import { encodePacketV5 } from './encoder-v5.js';
import { encodeProperties, outgoingPropertiesOf, type DecodedProperties, type OutgoingProperties } from './properties.js';
import { Reason } from './reason-codes.js';

/** Packets whose Reason String and User Properties a client may refuse to receive. [MQTT-3.1.2-29] */
const PROBLEM_INFORMATION: ReadonlySet<ServerPacket['cmd']> = new Set(['suback', 'unsuback', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'auth']);

/** What a client's acknowledgement releases of the broker's Receive Maximum. */
const RELEASES_QUOTA: ReadonlySet<ServerPacket['cmd']> = new Set(['puback', 'pubcomp', 'pubrec']);

/**
 * What MQTT 5 adds to one connection, made only for a 5.0 client: the limits it set in CONNECT,
 * Topic Aliases both ways, and the broker's Receive Maximum for what it sends. A 3.1.1
 * connection carries none of it.
 */
export class Mqtt5Connection {
  /** The client's Receive Maximum: QoS 1/2 PUBLISH packets in flight to it at most. [MQTT-3.3.4-9] */
  readonly receiveMaximum: number;
  /** The largest packet the client accepts. [MQTT-3.1.2-24] */
  readonly maximumPacketSize: number;
  readonly requestProblemInformation: boolean;
  /** The enhanced authentication method this connection authenticated with. */
  authenticationMethod: string | undefined;
  /** Topics by the alias the client set for them. [MQTT-3.3.2-7] */
  private inboundAliases: Map<number, string> | null = null;
  /** Aliases the broker gave topics, least recently used first. */
  private outboundAliases: Map<string, number> | null = null;
  /** Packet ids of the client's QoS 1/2 PUBLISH packets not yet acknowledged (PUBACK, PUBCOMP). */
  private unacknowledged: Set<number> | null = null;

  constructor(
    /** The CONNECT's properties (User Properties as ordered pairs). */
    readonly connectProperties: DecodedProperties,
    /** The broker's Receive Maximum (option `receiveMaximum`). */
    private readonly brokerReceiveMaximum: number,
  ) {
    this.receiveMaximum = connectProperties.receiveMaximum ?? 65_535;
    this.maximumPacketSize = connectProperties.maximumPacketSize ?? Infinity;
    this.requestProblemInformation = connectProperties.requestProblemInformation !== 0;
  }

  /** The client's Topic Alias Maximum: 0 means the broker sends none. [MQTT-3.1.2-27] */
  get topicAliasMaximum(): number {
    return this.connectProperties.topicAliasMaximum ?? 0;
  }

  /** The topic an alias stands for, set by this PUBLISH (with a topic) or an earlier one. */
  resolveAlias(alias: number, topic: string): string | undefined {
    if (topic === '') return this.inboundAliases?.get(alias);
    (this.inboundAliases ??= new Map()).set(alias, topic); // [MQTT-3.3.2-12]
    return topic;
  }

  /**
   * A QoS 1/2 PUBLISH arrived; false when the client has more unacknowledged than the broker's
   * Receive Maximum allows (a re-sent id counts once). [MQTT-3.3.4-7]
   */
  publishReceived(messageId: number): boolean {
    const pending = (this.unacknowledged ??= new Set());
    pending.add(messageId);
    return pending.size <= this.brokerReceiveMaximum;
  }

  /**
   * A PUBLISH for this client, or null when it would be larger than the client's Maximum Packet
   * Size: the caller then drops it for this client. [MQTT-3.1.2-25] The topic goes as an alias
   * when the client allows aliases: a new one for a topic not seen yet (the least recently used
   * alias is given to it once all are taken), the alias alone for one it already knows.
   */
  encodePublish(message: Message, qos: QoS, retain: boolean, dup: boolean, messageId: number): PublishBytes | null {
    let topic = message.topic;
    let properties: OutgoingProperties | undefined = outgoingPropertiesOf(message);
    const alias = this.aliasFor(topic);
    if (alias) {
      properties = { ...properties, topicAlias: alias.alias };
      if (alias.known) topic = '';
    }
    const bytes = encodePublish(topic, message.payload, qos, retain, dup, messageId, encodeProperties(properties));
    if (bytes.length > this.maximumPacketSize) return null;
    if (alias && !alias.known) this.remember(message.topic, alias.alias);
    return bytes;
  }

  /** The alias to send `topic` with, and whether the client knows it already; null for none. [MQTT-3.1.2-26] */
  private aliasFor(topic: string): { alias: number; known: boolean } | null {
    const maximum = this.topicAliasMaximum;
    if (maximum === 0) return null;
    const aliases = (this.outboundAliases ??= new Map());
    const known = aliases.get(topic);
    if (known !== undefined) {
      // Most recently used last.
      aliases.delete(topic);
      aliases.set(topic, known);
      return { alias: known, known: true };
    }
    if (aliases.size < maximum) return { alias: aliases.size + 1, known: false };
    const [, oldest] = aliases.entries().next().value!;
    return { alias: oldest, known: false };
  }

  /** Records an alias once its PUBLISH is on its way; an alias given to another topic before moves. */
  private remember(topic: string, alias: number): void {
    const aliases = this.outboundAliases!;
    if (aliases.size >= this.topicAliasMaximum) {
      for (const [other, used] of aliases) {
        if (used === alias) {
          aliases.delete(other);
          break;
        }
      }
    }
    aliases.set(topic, alias);
  }

  /**
   * A packet other than PUBLISH for this client: without Reason String and User Properties when it
   * did not want them [MQTT-3.1.2-29], or when they would make it too large [MQTT-3.1.2-24]; an
   * acknowledgement releases the client's quota.
   */
  encode(packet: ServerPacket): Buffer {
    if (RELEASES_QUOTA.has(packet.cmd) && 'messageId' in packet) {
      const release = packet.cmd !== 'pubrec' || (packet.reasonCode ?? Reason.Success) >= Reason.UnspecifiedError;
      if (release) this.unacknowledged?.delete(packet.messageId);
    }
    const trim = !this.requestProblemInformation && PROBLEM_INFORMATION.has(packet.cmd);
    let bytes = encodePacketV5(trim ? withoutProblemInformation(packet) : packet);
    if (bytes.length > this.maximumPacketSize && !trim) bytes = encodePacketV5(withoutProblemInformation(packet));
    return bytes;
  }
}

function withoutProblemInformation(packet: ServerPacket): ServerPacket {
  if (!('properties' in packet) || !packet.properties) return packet;
  const { reasonString: _reason, userProperties: _user, ...rest } = packet.properties;
  return { ...packet, properties: rest };
}
