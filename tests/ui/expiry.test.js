// An unpaid hold lapses: the seat comes back on everyone's map, live, and the payment
// page says the hold is over.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as H from './harness.js';

const ui = H.suite();

const seat = (page, id) => page.locator(`.seat[data-seat-id="${id}"]`);

test('an expired hold returns the seat to the map', async () => {
  const operator = await H.admin(ui.node);
  const event = await H.seatedEvent(ui.node, operator, { title: 'Short Hold Show' });
  await H.queueSettings(ui.node, operator, event.id, { holdTtlSecs: 4 });
  const [target] = await H.seatIds(ui.node, event.id);

  const { page: holder, session: holderSession } = await H.signedInPage(ui.browser, ui.node, 'holder');
  const { page: watcher } = await H.signedInPage(ui.browser, ui.node, 'watcher');
  await watcher.goto(`${ui.node.url}/events/${event.id}/seats`);
  await seat(watcher, target.id).waitFor();

  // The holder books from the event page: with the room off, Tier 1 is bypassed, and
  // the Tier-2 queue (on, with room to spare) admits at once with an entry token.
  await holder.goto(`${ui.node.url}/events/${event.id}`);
  await holder.getByTestId('book').click();
  await holder.waitForURL(/\/seats$/);
  await seat(holder, target.id).click();
  await holder.getByTestId('hold').click();
  await holder.waitForURL(/\/payment\//);
  const reservationId = holder.url().split('/').pop();
  assert.match(await holder.getByTestId('hold-timer').textContent(), /^0:0[0-4]$/);

  await H.eventually(async () => (await seat(watcher, target.id).getAttribute('data-state')) === 'held', { what: 'the hold on the map' });
  await H.screenshot(watcher, 'seat-map-held');

  await H.eventually(async () => (await seat(watcher, target.id).getAttribute('data-state')) === 'available', {
    ms: 20_000,
    what: 'the seat to come back',
  });
  await H.screenshot(watcher, 'seat-map-after-expiry');

  await H.eventually(async () => holder.getByTestId('pay').isDisabled(), { what: 'payment closed' });
  assert.match(await holder.locator('[role="alert"]').first().textContent(), /hold expired/);
  await H.screenshot(holder, 'payment-expired');
  const reservation = await H.call(ui.node, 'GET', `/api/v1/reservations/${reservationId}`, { token: holderSession.accessToken });
  assert.equal(reservation.status, 'expired');
});
