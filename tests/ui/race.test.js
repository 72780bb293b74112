// Two browsers want the same seat: the one who holds it first wins, and the other sees
// it turn held on the map as it happens, without reloading. A browser whose live stream
// is cut learns of it from the 409 instead, with the map brought up to date.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as H from './harness.js';

const ui = H.suite();

const seat = (page, id) => page.locator(`.seat[data-seat-id="${id}"]`);

test('two browsers race for the same seat and the loser sees it held, live', async () => {
  const operator = await H.admin(ui.node);
  const event = await H.seatedEvent(ui.node, operator, { title: 'Race Night' });
  await H.queueSettings(ui.node, operator, event.id, { enabled: false });
  const [target, second] = await H.seatIds(ui.node, event.id);

  const { page: alice } = await H.signedInPage(ui.browser, ui.node, 'alice');
  const { page: bob } = await H.signedInPage(ui.browser, ui.node, 'bob');
  for (const page of [alice, bob]) {
    await page.goto(`${ui.node.url}/events/${event.id}/seats`);
    await seat(page, target.id).click();
    assert.equal(await seat(page, target.id).getAttribute('aria-checked'), 'true');
  }
  await bob.evaluate(() => {
    window.notReloaded = true;
  });

  await alice.getByTestId('hold').click();
  await alice.waitForURL(/\/payment\//);

  await H.eventually(async () => (await seat(bob, target.id).getAttribute('data-state')) === 'held', { what: "bob's map to show the seat held" });
  assert.equal(await seat(bob, target.id).getAttribute('aria-checked'), 'false');
  assert.match(await bob.getByTestId('seat-message').textContent(), new RegExp(`${target.label} was just taken`));
  assert.equal(await bob.evaluate(() => window.notReloaded), true, 'no reload happened');
  assert.equal(await bob.getByTestId('hold').isDisabled(), true);
  await H.screenshot(bob, 'seat-map-race-loser');

  // Carol's stream is cut, so her map is stale when someone else takes her seat.
  const { page: carol } = await H.signedInPage(ui.browser, ui.node, 'carol');
  await carol.route('**/stream', (route) => route.abort());
  await carol.goto(`${ui.node.url}/events/${event.id}/seats`);
  await seat(carol, second.id).click();
  const dave = await H.register(ui.node, 'dave');
  await H.call(ui.node, 'POST', '/api/v1/seats/reserve', {
    token: dave.accessToken,
    body: { eventId: event.id, seatIds: [second.id], idempotencyKey: 'dave-1' },
  });
  assert.equal(await seat(carol, second.id).getAttribute('data-state'), 'selected');
  await carol.getByTestId('hold').click();
  await H.eventually(async () => /took a seat first/.test(await carol.getByTestId('seat-message').textContent()), { what: 'the 409 message' });
  assert.match(await carol.getByTestId('seat-message').textContent(), new RegExp(second.label));
  assert.equal(await seat(carol, second.id).getAttribute('data-state'), 'held');
  assert.equal(await seat(carol, target.id).getAttribute('data-state'), 'held');
  assert.match(carol.url(), /\/seats$/);
  await H.screenshot(carol, 'seat-map-409');
});

test('the seat page draws the compact map: the layout once, the live state beside it', async () => {
  const operator = await H.admin(ui.node);
  const event = await H.seatedEvent(ui.node, operator, { title: 'Compact Night' });
  await H.queueSettings(ui.node, operator, event.id, { enabled: false });
  const [taken, free, later] = await H.seatIds(ui.node, event.id);
  const erin = await H.register(ui.node, 'erin');
  await H.call(ui.node, 'POST', '/api/v1/seats/reserve', {
    token: erin.accessToken,
    body: { eventId: event.id, seatIds: [taken.id], idempotencyKey: 'erin-1' },
  });

  const { page } = await H.signedInPage(ui.browser, ui.node, 'frank');
  const seen = [];
  page.on('request', (request) => seen.push(new URL(request.url()).pathname));
  await page.goto(`${ui.node.url}/events/${event.id}/seats`);
  await H.eventually(async () => (await seat(page, taken.id).getAttribute('data-state')) === 'held', {
    what: 'the seat held before the page opened, drawn from the compact state',
  });
  assert.equal(await seat(page, free.id).getAttribute('data-state'), 'available');
  const base = `/api/v1/seats/events/${event.id}`;
  assert.ok(seen.includes(`${base}/layout`), `the layout was read: ${seen}`);
  assert.ok(seen.includes(`${base}/state`), `the state was read: ${seen}`);
  assert.ok(!seen.includes(base), `the whole map was not: ${seen}`);

  // A change after the page opened arrives on the stream, in order, and is drawn.
  await H.call(ui.node, 'POST', '/api/v1/seats/reserve', {
    token: erin.accessToken,
    body: { eventId: event.id, seatIds: [later.id], idempotencyKey: 'erin-2' },
  });
  await H.eventually(async () => (await seat(page, later.id).getAttribute('data-state')) === 'held', {
    what: 'a later hold, from the stream',
  });
  assert.equal(await seat(page, free.id).getAttribute('data-state'), 'available');
});
