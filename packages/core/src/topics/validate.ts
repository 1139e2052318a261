/**
 * Topic name and filter rules of MQTT 3.1.1 section 4.7. Both return an error text, or null when
 * the string is valid, so callers can log why a packet was refused.
 */

// mqtt-packet decodes UTF-8 leniently; U+FFFD marks bytes that were not valid UTF-8.
const INVALID_UTF8 = '\uFFFD';

function commonError(text: string): string | null {
  if (text.length === 0) return 'empty topic'; // [MQTT-4.7.3-1]
  if (text.includes('\u0000')) return 'topic contains U+0000'; // [MQTT-4.7.3-2]
  if (text.includes(INVALID_UTF8)) return 'topic is not valid UTF-8'; // [MQTT-1.5.3-1]
  // A UTF-16 unit is at most 3 UTF-8 bytes: only a long string needs counting (not a wire topic).
  if (text.length > 21_845 && Buffer.byteLength(text) > 65535) return 'topic longer than 65535 bytes'; // [MQTT-4.7.3-3]
  return null;
}

/** The broker's own limit, `maxTopicLevels`: counted only in strings long enough to exceed it. */
function levelsError(text: string, maxLevels: number): string | null {
  // n characters hold at most n + 1 levels.
  if (text.length < maxLevels) return null;
  let levels = 1;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 47 /* / */ && ++levels > maxLevels) return `more than ${maxLevels} topic levels (maxTopicLevels)`;
  return null;
}

/** A topic name of a PUBLISH: no wildcards, at most `maxLevels` levels. */
export function topicNameError(topic: string, maxLevels = Infinity): string | null {
  const error = commonError(topic) ?? levelsError(topic, maxLevels);
  if (error) return error;
  if (topic.includes('+') || topic.includes('#')) return 'wildcard in a topic name'; // [MQTT-3.3.2-2]
  return null;
}

/** A topic filter of a SUBSCRIBE or UNSUBSCRIBE, of at most `maxLevels` levels. */
export function topicFilterError(filter: string, maxLevels = Infinity): string | null {
  const error = commonError(filter) ?? levelsError(filter, maxLevels);
  if (error) return error;
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) {
      return "'#' must be the last level, alone"; // [MQTT-4.7.1-2]
    }
    if (level.includes('+') && level !== '+') return "'+' must be alone in its level"; // [MQTT-4.7.1-3]
  }
  return null;
}

/** Whether a topic name matches a (valid) filter, with the $-topic rule of [MQTT-4.7.2-1]. */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter[0] === '+' || filter[0] === '#')) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}
