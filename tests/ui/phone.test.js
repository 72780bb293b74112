// Every page fits a phone-sized screen (390 px wide) without sideways scrolling, reads in
// English and Korean, and each is saved as a screenshot for people to look at.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as H from './harness.js';

const ui = H.suite();

/** Opens `route`, waits for its heading, checks the width, saves `name`.png. */
async function visit(page, route, name) {
  await page.goto(ui.node.url + route);
  await page.locator('main h1').first().waitFor();
  await page.waitForLoadState('networkidle').catch(() => {});
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `${route} scrolls sideways by ${overflow}px`);
  await H.screenshot(page, name);
}

test('pages fit a phone screen, in English and Korean', async () => {
  const operator = await H.admin(ui.node);
  const seated = await H.seatedEvent(ui.node, operator, {
    title: 'Phone Arena Tour',
    sections: [
      { name: 'Floor', rows: 6, seatsPerRow: 14, price: 132000 },
      { name: 'Balcony', rows: 4, seatsPerRow: 12, price: 88000 },
    ],
  });
  const now = Date.now();
  const upcoming = await H.call(ui.node, 'POST', '/api/v1/admin/events', {
    token: operator.accessToken,
    body: {
      title: 'Midnight Standing Gig',
      venue: 'Rolling Hall',
      address: 'Hongdae, Mapo-gu, Seoul',
      startsAt: new Date(now + 30 * 86_400_000).toISOString(),
      saleStartsAt: new Date(now + 2 * 86_400_000 + 3_723_000).toISOString(),
      ticketTypes: [
        { name: 'Standing', price: 66000, quantity: 300 },
        { name: 'Standing (early entry)', price: 77000, quantity: 100 },
      ],
    },
  });

  // Signed out: the list (with a sale countdown), an event whose sale is ahead, sign-in.
  const guest = await H.newPage(ui.browser, { viewport: H.PHONE });
  await visit(guest, '/', 'phone-events');
  assert.match(await guest.locator('[data-sale-start]').first().textContent(), /^2d \d:\d\d:\d\d$/);
  await visit(guest, `/events/${upcoming.id}`, 'phone-event-upcoming');
  assert.equal(await guest.getByTestId('book').isDisabled(), true, 'Book waits for the sale to open');
  assert.match(await guest.locator('main').textContent(), /Sale opens in/);
  await visit(guest, '/login', 'phone-sign-in');
  await visit(guest, '/signup', 'phone-sign-up');
  await visit(guest, '/no/such/page', 'phone-not-found');

  // Signed in: the seat map scrolls inside its card, never the page.
  const { page: fan } = await H.signedInPage(ui.browser, ui.node, 'mobile', { viewport: H.PHONE });
  await H.queueSettings(ui.node, operator, seated.id, { enabled: false });
  await visit(fan, `/events/${seated.id}`, 'phone-event-detail');
  await visit(fan, `/events/${seated.id}/seats`, 'phone-seat-map');
  await fan.locator('.seat[data-state="available"]').first().click();
  await fan.getByTestId('hold').click();
  await fan.waitForURL(/\/payment\//);
  const paymentPath = new URL(fan.url()).pathname;
  await visit(fan, paymentPath, 'phone-payment');
  await visit(fan, '/reservations', 'phone-reservations');
  const declined = new URLSearchParams({ reservationId: paymentPath.split('/').pop(), code: 'payment_declined', message: 'The card issuer declined the payment.' });
  await visit(fan, `/payment/fail?${declined}`, 'phone-payment-failed');
  await visit(fan, `/events/${upcoming.id}/book`, 'phone-book-ticket-types');

  // The language switch redraws the page in Korean and is remembered.
  await fan.goto(`${ui.node.url}/`);
  await fan.getByRole('button', { name: 'Switch language to Korean' }).click();
  await fan.getByRole('heading', { name: '공연' }).waitFor();
  await fan.reload();
  await fan.getByRole('heading', { name: '공연' }).waitFor();
  await visit(fan, '/reservations', 'phone-reservations-ko');

  // Operator pages, for an admin on a laptop.
  const ops = await H.newPage(ui.browser);
  await H.signIn(ops, ui.node, operator.email, { next: '/admin' });
  await visit(ops, '/admin', 'admin-events');
  await visit(ops, `/admin/events/${seated.id}`, 'admin-event-closed-room');
  // The cluster page: this node live among the members, and the event it owns (the
  // fan's seat map above made it take the event's lease).
  await ops.goto(ui.node.url + '/admin/cluster');
  await ops.getByRole('heading', { name: 'Cluster' }).waitFor();
  const me = ops.locator('[data-testid="cluster"] tr[data-node]');
  await me.first().waitFor();
  assert.match(await me.first().innerText(), /Live/);
  await ops.locator(`tr[data-event="${seated.id}"]`).waitFor();
  await H.screenshot(ops, 'admin-cluster');
});
