import assert from 'node:assert/strict';
import { test } from 'node:test';
import { v5Message, v5Properties } from '@skynet-mqtt/contract-tests';
import type { UserProperty } from '@skynet-mqtt/core';
import { fromParentProperties, META_PROPERTY, toParentProperties } from '../src/properties.js';

const NOW = 1_000_000;

test('every MQTT 5 property and the expiry time round-trip through the parent, the Response Topic under the prefix', () => {
  const message = v5Message('t', 'p');
  const up = toParentProperties('site', message, NOW)!;
  assert.equal(up.responseTopic, 'site/reply/to/me', 'clients of the parent answer under the prefix');
  assert.equal(up.messageExpiryInterval, Math.ceil((message.expiresAt! - NOW) / 1000), 'the parent gets the remaining lifetime');
  const expected = { id: message.id, properties: message.properties, expiresAt: message.expiresAt };
  assert.deepEqual(fromParentProperties('site', up, NOW + 5_000), expected);
  assert.deepEqual(fromParentProperties(null, toParentProperties(null, message, NOW)), expected);
  assert.equal(toParentProperties('site', {}), undefined);
  assert.deepEqual(fromParentProperties('site', toParentProperties('site', { id: 'just-an-id' })), { id: 'just-an-id' }, 'the id alone crosses');
});

test('properties without an expiry time go without the meta property when mqtt.js keeps their order', () => {
  const properties = { ...v5Properties(), userProperties: [['x', '1'], ['y', '2'], ['y', '3']] as UserProperty[] };
  const up = toParentProperties(null, { properties })!;
  assert.deepEqual(up.userProperties, { x: '1', y: ['2', '3'] });
  assert.equal(up.messageExpiryInterval, 3600);
  const back = fromParentProperties(null, up, NOW);
  assert.deepEqual([back.properties, back.expiresAt], [properties, NOW + 3_600_000]);
});

test("User Properties that mqtt.js's object would reorder go exactly, in the meta property", () => {
  for (const list of [[['a', '1'], ['b', '2'], ['a', '3']], [['z', '1'], ['7', '2']], [[META_PROPERTY, 'mine']]] as UserProperty[][]) {
    const sent = toParentProperties(null, { properties: { userProperties: list } })!;
    assert.equal(typeof sent.userProperties![META_PROPERTY], 'string', JSON.stringify(list));
    assert.deepEqual(fromParentProperties(null, sent).properties?.userProperties, list);
  }
});

test('what a client of the parent sends is taken as it is, with an id of its own; its expiry interval counts from arrival', () => {
  const [first, second] = [fromParentProperties('site', undefined), fromParentProperties('site', {})];
  assert.match(first.id, /^parent-/);
  assert.notEqual(first.id, second.id);
  assert.deepEqual(fromParentProperties(null, { userProperties: { k: ['1', '2'], l: 'x' } }).properties?.userProperties, [['k', '1'], ['k', '2'], ['l', 'x']]);
  assert.deepEqual(fromParentProperties(null, { userProperties: { [META_PROPERTY]: 'not json', k: 'v' } }).properties?.userProperties, [['k', 'v']]);
  const { id: _, ...rest } = fromParentProperties('site', { responseTopic: 'central/replies', messageExpiryInterval: 10 }, NOW);
  assert.deepEqual(rest, { properties: { responseTopic: 'central/replies', messageExpiryInterval: 10 }, expiresAt: NOW + 10_000 });
});
