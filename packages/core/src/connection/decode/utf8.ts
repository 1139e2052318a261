/**
 * The rules every MQTT UTF-8 string obeys (client identifiers, user names, topic names and
 * filters), in one place: [MQTT-1.5.3-1] well-formed UTF-8, no surrogates; [MQTT-1.5.3-2] no
 * U+0000. Like Mosquitto we also refuse what [MQTT-1.5.3-3] lets a receiver refuse: the control
 * characters U+0001–U+001F and U+007F–U+009F, and the non-characters (U+FDD0–U+FDEF, U+xFFFE,
 * U+xFFFF). Each function returns why a string is refused, or null.
 */

/** Why a code point decoded from a string may not appear in it, or null. */
function codePointError(codePoint: number): string | null {
  if (codePoint === 0) return 'contains U+0000 [MQTT-1.5.3-2]';
  if (codePoint < 0x20 || (codePoint >= 0x7f && codePoint <= 0x9f)) return 'contains a control character [MQTT-1.5.3-3]';
  if (codePoint >= 0xd800 && codePoint <= 0xdfff) return 'contains a UTF-16 surrogate [MQTT-1.5.3-1]';
  if ((codePoint >= 0xfdd0 && codePoint <= 0xfdef) || (codePoint & 0xfffe) === 0xfffe) return 'contains a non-character [MQTT-1.5.3-3]';
  return null;
}

const ILL_FORMED = 'is not well-formed UTF-8 [MQTT-1.5.3-1]';
const WILDCARD = "contains a wildcard ('+' or '#') [MQTT-3.3.2-2]";
const PLUS = 0x2b;
const HASH = 0x23;

/**
 * Checks the UTF-8 bytes `buffer[start, end)` in one pass, before they are decoded: a decoder
 * would turn ill-formed bytes into U+FFFD, which is also a legitimate character. ASCII, the usual
 * case, costs two comparisons per byte. `topicName` also refuses wildcards, for a PUBLISH topic.
 */
export function utf8BytesError(buffer: Buffer, start: number, end: number, topicName = false): string | null {
  let i = start;
  while (i < end) {
    const byte = buffer[i]!;
    if (byte < 0x80) {
      if (byte < 0x20 || byte === 0x7f) return codePointError(byte);
      if (topicName && (byte === PLUS || byte === HASH)) return WILDCARD;
      i++;
      continue;
    }
    // The lead byte says how many continuation bytes follow; C0, C1 and F5–FF never appear.
    let extra: number;
    let codePoint: number;
    if (byte >= 0xc2 && byte <= 0xdf) {
      extra = 1;
      codePoint = byte & 0x1f;
    } else if (byte >= 0xe0 && byte <= 0xef) {
      extra = 2;
      codePoint = byte & 0x0f;
    } else if (byte >= 0xf0 && byte <= 0xf4) {
      extra = 3;
      codePoint = byte & 0x07;
    } else {
      return ILL_FORMED;
    }
    if (i + extra >= end) return ILL_FORMED; // cut short
    for (let k = 1; k <= extra; k++) {
      const next = buffer[i + k]!;
      if ((next & 0xc0) !== 0x80) return ILL_FORMED;
      codePoint = (codePoint << 6) | (next & 0x3f);
    }
    // Overlong encodings and code points beyond U+10FFFF are ill-formed.
    if ((extra === 2 && codePoint < 0x800) || (extra === 3 && (codePoint < 0x10000 || codePoint > 0x10ffff))) return ILL_FORMED;
    const error = codePointError(codePoint);
    if (error) return error;
    i += extra + 1;
  }
  return null;
}

/** The same rules for a string the application gave (`server.publish()`, `server.subscribe()`). */
export function textError(text: string): string | null {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0x20 && unit < 0x7f) continue;
    let codePoint = unit;
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      // A well-formed pair is one code point; a lone surrogate is refused by codePointError.
      if (low >= 0xdc00 && low <= 0xdfff) {
        codePoint = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    const error = codePointError(codePoint);
    if (error) return error;
  }
  return null;
}
