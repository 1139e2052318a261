/**
 * MQTT 5 reason codes the server sends (section 2.4), and the errors that carry them from where a
 * problem is found (the packet reader, a handler, a hook) to where the answer is written.
 */
export const enum Reason {
  Success = 0x00,
  GrantedQos1 = 0x01,
  GrantedQos2 = 0x02,
  DisconnectWithWill = 0x04,
  NoMatchingSubscribers = 0x10,
  NoSubscriptionExisted = 0x11,
  ContinueAuthentication = 0x18,
  ReAuthenticate = 0x19,
  UnspecifiedError = 0x80,
  MalformedPacket = 0x81,
  ProtocolError = 0x82,
  ImplementationSpecificError = 0x83,
  UnsupportedProtocolVersion = 0x84,
  ClientIdentifierNotValid = 0x85,
  BadUserNameOrPassword = 0x86,
  NotAuthorized = 0x87,
  ServerUnavailable = 0x88,
  ServerBusy = 0x89,
  Banned = 0x8a,
  ServerShuttingDown = 0x8b,
  BadAuthenticationMethod = 0x8c,
  KeepAliveTimeout = 0x8d,
  SessionTakenOver = 0x8e,
  TopicFilterInvalid = 0x8f,
  TopicNameInvalid = 0x90,
  PacketIdentifierInUse = 0x91,
  PacketIdentifierNotFound = 0x92,
  ReceiveMaximumExceeded = 0x93,
  TopicAliasInvalid = 0x94,
  PacketTooLarge = 0x95,
  QuotaExceeded = 0x97,
  PayloadFormatInvalid = 0x99,
  RetainNotSupported = 0x9a,
  QosNotSupported = 0x9b,
  UseAnotherServer = 0x9c,
  ServerMoved = 0x9d,
  SharedSubscriptionsNotSupported = 0x9e,
  SubscriptionIdentifiersNotSupported = 0xa1,
  WildcardSubscriptionsNotSupported = 0xa2,
}

/**
 * The DISCONNECT reason code a 5.0 client is sent when the server closes its connection for one
 * of its own reasons; none for a close the client asked for or caused by going away.
 */
const DISCONNECT_REASONS: Record<string, number | undefined> = {
  'disconnect request': undefined,
  close: undefined,
  'connect timeout': undefined,
  'server closed': Reason.ServerShuttingDown,
  'new connection request': Reason.SessionTakenOver, // [MQTT-3.1.4-3]
  'keepalive timeout': Reason.KeepAliveTimeout,
  'protocol violation': Reason.ProtocolError,
  'not authorized': Reason.NotAuthorized,
};

/** The DISCONNECT reason code for a close of the server's own (Mosca's reason strings), or undefined for none. */
export function disconnectReasonCode(reason: string): number | undefined {
  return reason in DISCONNECT_REASONS ? DISCONNECT_REASONS[reason] : Reason.UnspecifiedError;
}

/** A packet that breaks the protocol: the connection is closed, a 5.0 client first told why. [MQTT-4.13.1-1] */
export class ProtocolViolation extends Error {
  override name = 'ProtocolViolation';

  constructor(
    message: string,
    readonly reasonCode: number = Reason.MalformedPacket,
  ) {
    super(message);
  }
}

/**
 * The reason code a hook's refusal carries: an Error (or any object) with a numeric `reasonCode`
 * from 0x80 up, as in `callback(Object.assign(new Error('quota'), { reasonCode: 0x97 }))`.
 */
export function refusalCode(error: unknown, fallback: number): number {
  const code = (error as { reasonCode?: unknown } | null | undefined)?.reasonCode;
  return typeof code === 'number' && Number.isInteger(code) && code >= 0x80 && code <= 0xff ? code : fallback;
}

/**
 * The CONNACK return code a 3.1/3.1.1 client gets for a refusal described by a 5.0 reason code:
 * 3.1.1 knows only these five. [MQTT-3.2.2-4]
 */
export function connackReturnCode(reasonCode: number): number {
  switch (reasonCode) {
    case Reason.Success:
      return 0;
    case Reason.UnsupportedProtocolVersion:
      return 1;
    case Reason.ClientIdentifierNotValid:
      return 2;
    case Reason.ServerUnavailable:
    case Reason.ServerBusy:
    case Reason.ServerShuttingDown:
    case Reason.UseAnotherServer:
    case Reason.ServerMoved:
      return 3;
    case Reason.BadUserNameOrPassword:
      return 4;
    default:
      return 5;
  }
}
