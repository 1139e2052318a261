/**
 * Topic name and filter rules of MQTT 3.1.1 section 4.7. Each returns an error text, or null when
 * the string is valid, so callers can log why it was refused. Strings read from the network are
 * checked as bytes while they are decoded (connection/decode); these check the application's.
 */
import { textError } from '../connection/decode/utf8.js';

function commonError(text: string): string | null {
  if (text.length === 0) return 'empty topic'; // [MQTT-4.7.3-1]
  const error = textError(text); // [MQTT-4.7.3-2] [MQTT-1.5.3-1]
  if (error) return `topic ${error}`;
  // A UTF-16 unit is at most 3 UTF-8 bytes: only a long string needs counting.
  if (text.length > 21_845 && Buffer.byteLength(text) > 65535) return 'topic longer than 65535 bytes'; // [MQTT-4.7.3-3]
  return null;
}

/** A topic name the application publishes to: no wildcards. */
export function topicNameError(topic: string): string | null {
  const error = commonError(topic);
  if (error) return error;
  if (topic.includes('+') || topic.includes('#')) return 'wildcard in a topic name'; // [MQTT-3.3.2-2]
  return null;
}

/** A topic filter the application subscribes to. */
export function topicFilterError(filter: string): string | null {
  return commonError(filter) ?? wildcardError(filter);
}

/** Where a filter's wildcards break 4.7.1: '#' last and alone in its level, '+' alone in its level. */
export function wildcardError(filter: string): string | null {
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

/**
 * The broker's own limit on topic depth (`maxTopicLevels`), for names and filters alike. Counted
 * only in strings long enough to exceed it: n characters hold at most n + 1 levels.
 */
export function topicLevelsError(text: string, maxLevels: number): string | null {
  if (text.length < maxLevels) return null;
  let levels = 1;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 47 /* / */ && ++levels > maxLevels) return `more than ${maxLevels} topic levels (maxTopicLevels)`;
  return null;
}
