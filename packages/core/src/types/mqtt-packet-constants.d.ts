/** mqtt-packet's tables of the MQTT 5 reason codes each packet may carry, keyed by code. */
declare module 'mqtt-packet/constants.js' {
  type Codes = Record<number, string>;
  const constants: {
    MQTT5_PUBACK_PUBREC_CODES: Codes;
    MQTT5_PUBREL_PUBCOMP_CODES: Codes;
    MQTT5_DISCONNECT_CODES: Codes;
    MQTT5_AUTH_CODES: Codes;
  };
  export default constants;
}
