// The waiting list (docs/waiting-list.md): with every seat taken, a fan joins the list on
// the event's page; when a holder lets go, the page tells the fan at once (server-sent
// events) that the seat is held for them, with the time left; the fan pays it; a second
// fan behind them is told they are next, then first.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as H from './harness.js';

const ui = H.suite();

/** Holds `seats` for `session` by API (the queue admits at once); the reservation id. */
async function hold(eventId, session, seats, key) {
  const token = session.accessToken;
  const queued = await H.call(ui.node, 'POST', `/api/v1/queue/check/${eventId}`, { token, body: {} });
  const headers = queued.entryToken ? { 'x-queue-entry-token': queued.entryToken } : {};
  const held = await H.call(ui.node, 'POST', '/api/v1/seats/reserve', {
    token,
    headers,
    body: { eventId, seatIds: seats.map((s) => s.id), idempotencyKey: key },
  });
  return held.reservationId;
}

test('a fan on the waiting list is offered a returned seat live and pays for it', async () => {
  const operator = await H.admin(ui.node);
  const event = await H.seatedEvent(ui.node, operator, {
    title: 'Waitlist Night',
    sections: [{ name: 'A', rows: 1, seatsPerRow: 2, price: 40000 }],
  });
  await H.queueSettings(ui.node, operator, event.id, { waitlistOfferSecs: 120 });
  const seats = await H.seatIds(ui.node, event.id);
  const holder = await H.register(ui.node, 'holder');
  const held = await hold(event.id, holder, seats, 'both');

  // Every seat is taken: the event page offers the waiting list.
  const { page: fan } = await H.signedInPage(ui.browser, ui.node, 'fan');
  await fan.goto(`${ui.node.url}/events/${event.id}`);
  const card = fan.getByTestId('waitlist');
  await card.getByRole('button', { name: 'Join the waiting list' }).waitFor();
  await card.getByLabel('Seats together').selectOption('2');
  await card.getByRole('button', { name: 'Join the waiting list' }).click();
  await H.eventually(async () => (await card.getAttribute('data-status')) === 'waiting', { what: 'waiting' });
  assert.match(await card.getByTestId('waitlist-position').textContent(), /number 1 .*2 seat/);
  await H.screenshot(fan, 'waitlist-waiting');

  // A second fan joins behind.
  const { page: next } = await H.signedInPage(ui.browser, ui.node, 'next');
  await next.goto(`${ui.node.url}/events/${event.id}`);
  const nextCard = next.getByTestId('waitlist');
  await nextCard.getByRole('button', { name: 'Join the waiting list' }).click();
  await H.eventually(async () => (await nextCard.getByTestId('waitlist-position').textContent()).includes('number 2'), {
    what: 'second in line',
  });

  // The holder lets go: the first fan's page shows the offer without a reload.
  await H.call(ui.node, 'POST', `/api/v1/reservations/${held}/cancel`, { token: holder.accessToken, body: {} });
  await H.eventually(async () => (await card.getAttribute('data-status')) === 'offered', { what: 'the offer, live' });
  assert.match(await card.textContent(), /2 seat\(s\) are held for you until/);
  assert.match(await card.getByTestId('offer-left').textContent(), /^[12]:\d\d$/);
  // The second fan moves up to first.
  await H.eventually(async () => (await nextCard.getByTestId('waitlist-position').textContent()).includes('number 1'), {
    ms: 20_000,
    what: 'the second fan first in line',
  });
  await H.screenshot(fan, 'waitlist-offered');

  // Paying is paying for any hold.
  await card.getByTestId('offer-pay').click();
  await fan.waitForURL(/\/payment\/[0-9a-f-]{36}$/);
  await fan.getByLabel('Naver Pay').check();
  await fan.getByTestId('pay').click();
  await fan.waitForURL(/\/payment\/success/);
  await fan.goto(`${ui.node.url}/events/${event.id}`);
  await H.eventually(async () => (await card.getAttribute('data-status')) === 'bought', { what: 'bought' });
  await H.screenshot(fan, 'waitlist-bought');
});
