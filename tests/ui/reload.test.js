// A reload in the Tier-1 waiting room keeps the place: the browser resumes its requestId
// rather than joining again at the back.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as H from './harness.js';

const ui = H.suite();

async function shownPosition(page, scope) {
  return Number(
    await H.eventually(async () => {
      const text = await scope.getByTestId('position').textContent();
      return text !== '—' && text;
    }, { what: 'a shown position' }),
  );
}

test('a reload in the waiting room keeps the place', async () => {
  const operator = await H.admin(ui.node);
  const event = await H.seatedEvent(ui.node, operator, { title: 'Reload Fest' });
  await H.room(ui.node, operator, event.id, 'open', { batch: 1, intervalSecs: 1 });
  await H.room(ui.node, operator, event.id, 'pause');
  for (const n of [1, 2, 3]) {
    const before = await H.register(ui.node, `before-${n}`);
    await H.call(ui.node, 'POST', `/vwr-api/vwr/assign/${event.id}`, { token: before.accessToken, body: {} });
  }

  const { page } = await H.signedInPage(ui.browser, ui.node, 'patient');
  await page.goto(`${ui.node.url}/events/${event.id}`);
  await page.getByTestId('book').click();
  const place = await shownPosition(page, page.getByTestId('vwr-modal'));
  assert.equal(place, 4);

  // Count what the page asks of the room from here on: a reload must resume, not re-queue.
  let assigns = 0;
  page.on('request', (request) => {
    if (request.method() === 'POST' && request.url().includes('/vwr-api/vwr/assign/')) assigns += 1;
  });
  await page.reload();
  const modal = page.getByTestId('vwr-modal');
  await modal.waitFor();
  assert.equal(await shownPosition(page, modal), place, 'same place after the reload');
  assert.equal(Number(await modal.getByTestId('ahead').textContent()), 3);
  // The reload took no second place. (Counted at the page, not read off the room's
  // status, whose counter claims numbers in blocks and may move on its own.)
  assert.equal(assigns, 0, 'no second place was taken');
  await H.screenshot(page, 'vwr-modal-after-reload');

  // The seed's static room page (docs/architecture.md#the-design-urr-rebuilds) resumes the
  // same place too.
  await page.goto(`${ui.node.url}/vwr/${event.id}`);
  const room = page.getByTestId('vwr-page');
  assert.equal(await shownPosition(page, room), place);
  await H.screenshot(page, 'vwr-page');

  // A requestId the room does not know (404 on check) makes the page ask again, and the
  // room hands back this person's one place rather than a second one at the back.
  const savedRequest = () => page.evaluate(({ eventId }) => {
    const key = Object.keys(localStorage).find((k) => k.startsWith(`urr.vwr.${eventId}.`));
    return key && JSON.parse(localStorage.getItem(key)).requestId;
  }, { eventId: event.id });
  const original = await savedRequest();
  await page.evaluate(({ eventId }) => {
    const key = Object.keys(localStorage).find((k) => k.startsWith(`urr.vwr.${eventId}.`));
    const saved = JSON.parse(localStorage.getItem(key));
    localStorage.setItem(key, JSON.stringify({ ...saved, requestId: crypto.randomUUID() }));
  }, { eventId: event.id });
  await page.reload();
  await H.eventually(async () => (await savedRequest()) === original, { what: 'the same place after the 404' });
  assert.equal(await shownPosition(page, room), place, 'still one place per person');

  // The operator resumes the room: the fan is let through, into the queue and on to seats.
  await H.room(ui.node, operator, event.id, 'resume');
  await page.waitForURL(/\/seats$/, { timeout: 20_000 });
  const cookies = await page.context().cookies();
  assert.ok(cookies.some((c) => c.name === 'urr-vwr-token'), 'the Tier-1 token is kept as a cookie');
  assert.ok(cookies.some((c) => c.name === 'urr-entry-token'), 'the entry token arrived');
});
