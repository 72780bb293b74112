// Tickets at the door (docs/tickets.md): a fan's paid tickets show QR codes in "My
// reservations"; the operator makes a door person staff; the door page admits a typed
// code once, refuses it the second time with when and where, admits a photo of the other
// ticket's QR image, and the operator page counts both.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import * as H from './harness.js';

const ui = H.suite();

/** Queues, holds `seats` and pays with the sandbox, all by API: a confirmed reservation. */
async function buy(eventId, session, seats) {
  const token = session.accessToken;
  const queued = await H.call(ui.node, 'POST', `/api/v1/queue/check/${eventId}`, { token, body: {} });
  const headers = queued.entryToken ? { 'x-queue-entry-token': queued.entryToken } : {};
  const held = await H.call(ui.node, 'POST', '/api/v1/seats/reserve', {
    token,
    headers,
    body: { eventId, seatIds: seats.map((s) => s.id), idempotencyKey: `buy-${Date.now()}` },
  });
  await H.call(ui.node, 'POST', '/api/v1/payments/process', {
    token,
    body: { reservationId: held.reservationId, method: 'kakaopay' },
  });
  return held.reservationId;
}

test('tickets show QR codes, and the door admits each once, typed or photographed', async () => {
  const operator = await H.admin(ui.node);
  const event = await H.seatedEvent(ui.node, operator, { title: 'Door Night' });
  const seats = (await H.seatIds(ui.node, event.id)).slice(0, 2);

  // The fan's two paid tickets, each a QR image with its code under it.
  const { page: fan, session: fanSession } = await H.signedInPage(ui.browser, ui.node, 'fan');
  await buy(event.id, fanSession, seats);
  await fan.goto(`${ui.node.url}/reservations`);
  await fan.getByRole('button', { name: 'Tickets' }).click();
  const tickets = fan.getByTestId('ticket');
  await H.eventually(async () => (await tickets.count()) === 2, { what: 'two tickets' });
  const codes = await tickets.evaluateAll((els) => els.map((el) => el.dataset.code));
  assert.ok(codes.every((c) => /^URR1[A-Z2-7]+$/.test(c)), `codes: ${codes}`);
  assert.equal(await tickets.first().getByRole('img').getAttribute('alt'), `QR code of ticket ${seats[0].label}`);
  // The image is drawn: it has the size it asks for.
  const drawn = await tickets.first().getByRole('img').evaluate((img) => img.complete && img.naturalWidth > 0);
  assert.ok(drawn, 'the QR image loaded');
  // Under the image, the seat and the code in groups of four, for typing at the door.
  await tickets.first().getByText(seats[0].label, { exact: true }).waitFor({ state: 'visible' });
  await tickets.first().getByText(codes[0].slice(0, 4), { exact: false }).waitFor({ state: 'visible' });
  await H.screenshot(fan, 'tickets');
  // A phone's photo of the second ticket's screen.
  mkdirSync(H.SHOTS, { recursive: true });
  const photo = path.join(H.SHOTS, 'ticket-qr-photo.png');
  await tickets.nth(1).getByRole('img').screenshot({ path: photo });

  // The operator makes the door person staff on the event's operator page.
  const door = await H.register(ui.node, 'door', 'Gatekeeper Lee');
  const ops = await H.newPage(ui.browser);
  await H.signIn(ops, ui.node, operator.email, { next: `/admin/events/${event.id}` });
  await ops.getByLabel('Email').fill(door.email);
  await ops.getByLabel('Role').selectOption('staff');
  await ops.getByRole('button', { name: 'Set role' }).click();
  await H.eventually(async () => (await ops.locator('#toast').textContent()).includes('Door staff'), { what: 'role set' });

  // The door: pick the event and the gate, type the first code.
  const staff = await H.newPage(ui.browser);
  await H.signIn(staff, ui.node, door.email);
  await staff.getByRole('link', { name: 'Check-in' }).click();
  await staff.waitForURL(/\/check-in$/);
  await staff.getByLabel('Event').selectOption(event.id);
  await staff.getByLabel('Gate').fill('North gate');
  const result = staff.getByTestId('checkin-result');
  await staff.getByLabel('Ticket code').fill(codes[0].toLowerCase());
  await staff.getByRole('button', { name: 'Check in' }).click();
  await H.eventually(async () => (await result.getAttribute('data-verdict')) === 'admitted', { what: 'admitted' });
  assert.match(await result.textContent(), new RegExp(`Admitted.*${seats[0].label}.*Fan`));
  await H.screenshot(staff, 'door-admitted');

  // The same code again: refused, saying where and by whom it was first scanned.
  await staff.getByLabel('Ticket code').fill(codes[0]);
  await staff.getByRole('button', { name: 'Check in' }).click();
  await H.eventually(async () => (await result.getAttribute('data-verdict')) === 'already', { what: 'refused' });
  assert.match(await result.textContent(), /Already checked in.*First scanned at North gate, .* by Gatekeeper Lee/);
  await H.screenshot(staff, 'door-already');

  // A mistyped code is told apart from a used one.
  await staff.getByLabel('Ticket code').fill(`${codes[1].slice(0, -1)}${codes[1].endsWith('A') ? 'B' : 'A'}`);
  await staff.getByRole('button', { name: 'Check in' }).click();
  await H.eventually(async () => (await result.getAttribute('data-verdict')) === 'invalid', { what: 'invalid' });

  // The second ticket from its photo (read by the browser where it can, else the server).
  await staff.locator('#door-photo').setInputFiles(photo);
  await H.eventually(async () => (await result.getAttribute('data-verdict')) === 'admitted', { what: 'photo admitted' });
  assert.match(await result.textContent(), new RegExp(seats[1].label));
  const history = await staff.locator('.door-history li').evaluateAll((els) => els.map((el) => el.dataset.verdict));
  assert.deepEqual(history, ['admitted', 'invalid', 'already', 'admitted']);

  // The operator page counts them.
  await ops.reload();
  const counts = ops.getByTestId('door-counts');
  await H.eventually(async () => (await counts.getAttribute('data-checked-in')) === '2', { what: 'counts' });
  assert.equal(await counts.textContent(), '2 of 2 tickets checked in');
  await H.screenshot(ops, 'operator-door-counts');

  // The fan, not staff, is told the door is not theirs.
  await fan.goto(`${ui.node.url}/check-in`);
  await fan.getByText('Only door staff and operators can check tickets in.').waitFor();
});
