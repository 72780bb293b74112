// A fan goes from the event list through both waiting tiers to a confirmed ticket, in
// Korean; an operator creates the event and runs its room through the operator pages.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as H from './harness.js';

const ui = H.suite();

/** Passes Tier 1 by API for `session` and checks in to Tier 2 with the room's token. */
async function throughBothTiers(eventId, session) {
  const assigned = await H.call(ui.node, 'POST', `/vwr-api/vwr/assign/${eventId}`, { token: session.accessToken, body: {} });
  const token = await H.eventually(
    async () => (await H.call(ui.node, 'GET', `/vwr-api/vwr/check/${eventId}/${assigned.requestId}`, { token: session.accessToken })).token,
    { what: 'a Tier-1 token for the filler' },
  );
  return H.call(ui.node, 'POST', `/api/v1/queue/check/${eventId}`, {
    token: session.accessToken,
    headers: { 'x-vwr-token': token },
    body: {},
  });
}

test('a fan goes from the list through both tiers to a confirmed ticket', async () => {
  // The operator creates the event with its seat layout in the operator pages.
  const operator = await H.admin(ui.node);
  const ops = await H.newPage(ui.browser);
  await H.signIn(ops, ui.node, operator.email, { next: '/admin' });
  await ops.getByRole('link', { name: 'New event' }).click();
  await ops.getByLabel('Title').fill('URR Live in Seoul');
  await ops.getByLabel('Venue').fill('KSPO Dome');
  await ops.getByLabel('Address').fill('424 Olympic-ro, Songpa-gu, Seoul');
  await ops.getByLabel('Description').fill('The 19:59 rush, rehearsed.');
  await H.screenshot(ops, 'admin-new-event');
  await ops.getByRole('button', { name: 'Create event' }).click();
  await ops.waitForURL(/\/admin\/events\/[0-9a-f-]{36}$/);
  const eventId = ops.url().split('/').pop();

  // One person active at a time, so the fan waits in Tier 2 behind a filler.
  const settings = ops.getByTestId('queue-settings');
  await settings.getByLabel('Active at once').fill('1');
  await settings.getByRole('button', { name: 'Save' }).click();
  await H.eventually(async () => (await ops.locator('#toast').textContent()).includes('Saved'), { what: 'settings saved' });
  // Tier 1 lets one person through every two seconds.
  const roomCard = ops.getByTestId('room');
  await roomCard.getByLabel('Batch').fill('1');
  await roomCard.getByLabel('Interval (s)').fill('2');
  await roomCard.locator('[data-action="open"]').click();
  await H.eventually(async () => (await ops.getByTestId('room-badge').textContent()) === 'Open', { what: 'room open' });

  const filler = await H.register(ui.node, 'filler');
  assert.equal((await throughBothTiers(eventId, filler)).status, 'active');
  // Two people who joined the room earlier are ahead of the fan.
  for (const n of [1, 2]) {
    const earlier = await H.register(ui.node, `earlier-${n}`);
    await H.call(ui.node, 'POST', `/vwr-api/vwr/assign/${eventId}`, { token: earlier.accessToken, body: {} });
  }

  // The fan signs up in Korean and finds the event by searching.
  const fan = await H.newPage(ui.browser, { locale: 'ko-KR' });
  await fan.goto(`${ui.node.url}/signup`);
  await fan.getByLabel('이름').fill('김민지');
  await fan.getByLabel('이메일').fill(H.uniqueEmail('fan'));
  await fan.getByLabel('비밀번호 (8자 이상)').fill(H.PASSWORD);
  await H.screenshot(fan, 'signup-ko');
  await fan.getByRole('button', { name: '회원가입' }).click();
  await fan.waitForURL(`${ui.node.url}/`);
  await fan.getByRole('searchbox', { name: '검색' }).fill('seoul');
  await fan.getByRole('button', { name: '검색' }).click();
  await fan.waitForURL(/\?q=seoul/);
  await fan.getByRole('link', { name: 'URR Live in Seoul' }).waitFor();
  await H.screenshot(fan, 'events-ko');
  await fan.getByRole('link', { name: 'URR Live in Seoul' }).click();
  await fan.getByRole('heading', { name: 'URR Live in Seoul' }).waitFor();
  await H.screenshot(fan, 'event-detail-ko');

  // Tier 1: the seed's modal (docs/architecture.md#the-design-urr-rebuilds), with position, people ahead, progress and the poll pace.
  await fan.getByTestId('book').click();
  const modal = fan.getByTestId('vwr-modal');
  await modal.waitFor();
  const position = Number(await H.eventually(async () => {
    const text = await modal.getByTestId('position').textContent();
    return text !== '—' && text;
  }, { what: 'a Tier-1 position' }));
  assert.ok(position >= 4, `the fan is behind the filler and two earlier joiners (got ${position})`);
  assert.match(await modal.getByTestId('next-poll').textContent(), /초/);
  await H.screenshot(fan, 'vwr-modal-ko');

  // Tier 2: behind the filler, live over the stream.
  await fan.waitForURL(/\/queue\//, { timeout: 30_000 });
  const queue = fan.getByTestId('queue-page');
  await H.eventually(async () => (await queue.getByTestId('position').textContent()) === '1', { what: 'queue position 1' });
  await H.eventually(async () => (await fan.getByTestId('queue-mode').getAttribute('data-mode')) === 'live', { what: 'live queue updates' });
  await H.screenshot(fan, 'queue-ko');
  await H.call(ui.node, 'POST', `/api/v1/queue/leave/${eventId}`, { token: filler.accessToken, body: {} });

  // The seat map: one seat by mouse, one by keyboard, then hold.
  await fan.waitForURL(/\/seats$/, { timeout: 15_000 });
  const firstId = await fan.locator('.seat[data-state="available"]').first().getAttribute('data-seat-id');
  const first = fan.locator(`.seat[data-seat-id="${firstId}"]`);
  await first.click();
  assert.equal(await first.getAttribute('aria-checked'), 'true');
  await first.focus();
  await fan.keyboard.press('ArrowRight');
  await fan.keyboard.press('Space');
  const chosen = fan.locator('.seat[aria-checked="true"]');
  assert.equal(await chosen.count(), 2);
  const labels = await chosen.evaluateAll((els) => els.map((el) => el.dataset.label));
  await H.screenshot(fan, 'seat-map-ko');
  await fan.getByTestId('hold').click();

  // Payment with the sandbox, inside the hold's countdown.
  await fan.waitForURL(/\/payment\/[0-9a-f-]{36}$/);
  await fan.getByTestId('hold-timer').waitFor();
  assert.match(await fan.getByTestId('hold-timer').textContent(), /^\d+:\d\d$/);
  await H.screenshot(fan, 'payment-ko');
  await fan.getByLabel('네이버페이').check();
  await fan.getByTestId('pay').click();

  // The ticket.
  await fan.waitForURL(/\/payment\/success/);
  const ticket = fan.getByTestId('ticket');
  await ticket.waitFor();
  const ticketText = await ticket.textContent();
  for (const label of labels) assert.ok(ticketText.includes(label), `ticket shows ${label}`);
  assert.ok(ticketText.includes('예매 완료'));
  await H.screenshot(fan, 'payment-success-ko');

  await fan.getByRole('link', { name: '내 예매' }).first().click();
  const reservation = fan.getByTestId('reservation').first();
  await reservation.waitFor();
  assert.equal(await reservation.getAttribute('data-status'), 'confirmed');
  await H.screenshot(fan, 'reservations-ko');

  // The operator's watch saw both admissions; the sold seats show in the counts.
  await H.eventually(async () => Number(await ops.getByTestId('watch-admitted').textContent()) >= 2, { what: 'admissions in the watch' });
  // Live charts of the queue and the sales: one line each, drawn from the samples so far.
  for (const chart of ['chart-waiting', 'chart-active', 'chart-sold']) {
    const points = await ops.getByTestId(chart).locator('polyline').getAttribute('points');
    assert.ok(points.split(' ').length >= 2, `${chart} has a line: ${points}`);
  }
  await H.screenshot(ops, 'admin-event');

  // A refund from "my reservations" releases the seats.
  await reservation.getByRole('button', { name: '환불' }).click();
  await reservation.getByRole('button', { name: '예' }).click();
  await H.eventually(async () => (await fan.getByTestId('reservation').first().getAttribute('data-status')) !== 'confirmed', { what: 'the refund' });
  const seats = await H.call(ui.node, 'GET', `/api/v1/seats/events/${eventId}`);
  const statuses = seats.layout.sections.flatMap((s) => s.rows.flatMap((r) => r.seats)).filter((s) => labels.includes(s.label));
  assert.deepEqual(statuses.map((s) => s.status), ['available', 'available']);
});
