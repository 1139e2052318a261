/** Plugins' HTTP APIs on the admin listener: device-auth's devices API, with its own identities. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashSecret } from '@skynet-mqtt/core';
import { TOKEN, startAdminBroker } from './helpers.js';

test('with deviceAuth on, the devices API answers under /api/v1/devices on the admin listener, with device-auth\'s admin identities', async (t) => {
  const provisioner = { name: 'provisioner', secret: 'provisioner-secret-for-tests' };
  const b = await startAdminBroker(t, {
    deviceAuth: { secret: 'a'.repeat(40), admins: [{ name: provisioner.name, secretHash: await hashSecret(provisioner.secret) }] },
  });
  const basic = `Basic ${Buffer.from(`${provisioner.name}:${provisioner.secret}`).toString('base64')}`;
  const created = await fetch(`${b.admin}/api/v1/devices`, {
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/json' },
    body: JSON.stringify({ meta: { name: 'lamp' } }),
  });
  assert.equal(created.status, 201);
  const { uuid } = (await created.json()) as { uuid: string };
  const listed = (await (await fetch(`${b.admin}/api/v1/devices`, { headers: { authorization: basic } })).json()) as { uuid: string }[];
  assert.deepEqual(listed.map((d) => d.uuid), [uuid]);
  // The devices API keeps its own identities: the broker's admin token is not one of them.
  assert.equal((await fetch(`${b.admin}/api/v1/devices`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 401);
  // And the broker's API still answers beside it.
  assert.equal((await b.get('/api/v1/stats')).status, 200);
});
