import assert from 'node:assert/strict';
import { test } from 'node:test';
import { v5Properties } from '@skynet-mqtt/contract-tests';
import type { UserProperty } from '@skynet-mqtt/core';
import { fromParentProperties, ORDER_PROPERTY, toParentProperties } from '../src/properties.js';

test('every MQTT 5 property round-trips through the parent, the Response Topic under the prefix', () => {
  const properties = v5Properties();
  const up = toParentProperties('site', properties)!;
  assert.equal(up.responseTopic, 'site/reply/to/me', 'clients of the parent answer under the prefix');
  assert.deepEqual(fromParentProperties('site', up), properties);
  assert.deepEqual(fromParentProperties(null, toParentProperties(null, properties)), properties);
  assert.equal(toParentProperties('site', undefined), undefined);
  assert.equal(fromParentProperties('site', undefined), undefined);
  assert.equal(fromParentProperties('site', {}), undefined);
});

test("User Properties go as mqtt.js's object, with the exact list only when the object would reorder it", () => {
  const simple: UserProperty[] = [['x', '1'], ['y', '2'], ['y', '3']];
  const up = toParentProperties(null, { userProperties: simple })!;
  assert.deepEqual(up.userProperties, { x: '1', y: ['2', '3'] });
  assert.deepEqual(fromParentProperties(null, up)?.userProperties, simple);
  for (const list of [[['a', '1'], ['b', '2'], ['a', '3']], [['z', '1'], ['7', '2']], [[ORDER_PROPERTY, 'mine']]] as UserProperty[][]) {
    const sent = toParentProperties(null, { userProperties: list })!;
    assert.equal(typeof sent.userProperties![ORDER_PROPERTY], 'string', JSON.stringify(list));
    assert.deepEqual(fromParentProperties(null, sent)?.userProperties, list);
  }
  // What a client of the parent sends has no order property: taken as it is.
  assert.deepEqual(fromParentProperties(null, { userProperties: { k: ['1', '2'], l: 'x' } })?.userProperties, [['k', '1'], ['k', '2'], ['l', 'x']]);
  assert.deepEqual(fromParentProperties(null, { userProperties: { [ORDER_PROPERTY]: 'not json', k: 'v' } })?.userProperties, [['k', 'v']]);
});

test('a Response Topic of a parent client outside the prefix is kept as it is', () => {
  assert.equal(fromParentProperties('site', { responseTopic: 'central/replies' })?.responseTopic, 'central/replies');
});
