// Invitations (docs/architecture.md#invitations) in the browser: an operator mints links on
// the event's operator page and copies one; a guest who is not signed in opens it, signs
// in, and lands on the queue page ahead of everyone waiting, past an open Tier-1 room;
// the operator page then shows the link used and the counts moved; a revoke from the
// page stops the other link.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as H from './harness.js';

const ui = H.suite();

const text = async (locator) => (await locator.textContent())?.trim();

test('an operator mints, a guest uses, the operator sees it used and revokes another', async () => {
  const operator = await H.admin(ui.node);
  const event = await H.seatedEvent(ui.node, operator, { title: 'URR Invitational' });
  // One person shopping at a time, and one waiting behind them.
  await H.queueSettings(ui.node, operator, event.id, { threshold: 1, batch: 1 });
  const check = (session) => H.call(ui.node, 'POST', `/api/v1/queue/check/${event.id}`, { token: session.accessToken, body: {} });
  const shopper = await H.register(ui.node, 'shopper');
  assert.equal((await check(shopper)).status, 'active');
  const waiting = await H.register(ui.node, 'waiting');
  assert.equal((await check(waiting)).position, 1);
  // The Tier-1 room opens: from now on only the room, or an invitation, leads in.
  await H.room(ui.node, operator, event.id, 'open', { batch: 1, intervalSecs: 60 });

  // The operator mints two links for the press on the event's operator page.
  const ops = await H.newPage(ui.browser);
  await ops.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: ui.node.url });
  await H.signIn(ops, ui.node, operator.email, { next: `/admin/events/${event.id}` });
  const card = ops.getByTestId('invitations');
  await card.getByLabel('For', { exact: true }).fill('Press: Jane Doe');
  await card.getByLabel('Priority', { exact: true }).fill('0');
  await card.getByLabel('How many', { exact: true }).fill('2');
  await card.getByLabel('Valid for (hours)', { exact: true }).fill('24');
  await card.getByRole('button', { name: 'Create links' }).click();
  await H.eventually(async () => (await text(card.getByTestId('invite-count-active'))) === '2', { what: 'two unused links' });
  assert.equal(await card.locator('tbody tr').count(), 2);
  await H.screenshot(ops, 'admin-invitations');

  // Copy the first link, as the operator would to mail it.
  const first = card.locator('tbody tr').first();
  const usedId = await first.getAttribute('data-invitation');
  await first.locator('[data-action="copy"]').click();
  const link = await H.eventually(() => ops.evaluate(() => navigator.clipboard.readText()), { what: 'the copied link' });
  assert.ok(link.startsWith(`${ui.node.url}/invite#`), link);

  // The guest opens it signed out, is asked to sign in, and comes back to it.
  const guest = await H.register(ui.node, 'guest', 'Jane Doe');
  const page = await H.newPage(ui.browser);
  await page.goto(link);
  await page.waitForURL((url) => url.pathname === '/login');
  await page.getByLabel(/^Email$/).fill(guest.email);
  await page.getByLabel(/^Password$/).fill(H.PASSWORD);
  await page.getByRole('button', { name: /^Sign in$/ }).last().click();
  await page.waitForURL(`${ui.node.url}/queue/${event.id}`);
  await page.getByTestId('queue-page').waitFor();
  await H.screenshot(page, 'invite-queue');
  // At the head of the line, ahead of the person who was waiting, and the queue page's
  // own check went through the open room with the invitation's Tier-1 token.
  const status = (session) => H.call(ui.node, 'GET', `/api/v1/queue/status/${event.id}`, { token: session.accessToken });
  assert.equal((await status(guest)).position, 1);
  assert.equal((await status(waiting)).position, 2);
  assert.equal(await page.getByRole('alert').count(), 0, 'no error on the queue page');

  // The operator page shows the link used, by whom, and the counts moved.
  const used = card.locator(`tr[data-invitation="${usedId}"]`);
  await H.eventually(async () => (await used.getAttribute('data-status')) === 'redeemed', { what: 'the link shown as used' });
  assert.equal(await text(used.getByTestId('invite-redeemed-by')), guest.email);
  assert.equal(await text(used.getByTestId('invite-status')), 'Used');
  assert.equal(await text(card.getByTestId('invite-count-redeemed')), '1');
  assert.equal(await text(card.getByTestId('invite-count-active')), '1');
  assert.equal(await used.locator('[data-action="revoke"]').count(), 0, 'a used link cannot be revoked');

  // Revoke the other link from the page.
  const other = card.locator('tr[data-status="active"]');
  const otherId = await other.getAttribute('data-invitation');
  const listed = await H.call(ui.node, 'GET', `/api/v1/admin/events/${event.id}/invitations`, { token: operator.accessToken });
  const otherToken = listed.invitations.find((i) => i.id === otherId).token;
  ops.once('dialog', (dialog) => dialog.accept());
  await other.locator('[data-action="revoke"]').click();
  await H.eventually(async () => (await text(card.getByTestId('invite-count-revoked'))) === '1', { what: 'the revoke counted' });
  assert.equal(await card.locator(`tr[data-invitation="${otherId}"]`).getAttribute('data-status'), 'revoked');
  assert.equal(await text(card.getByTestId('invite-count-active')), '0');
  await H.screenshot(ops, 'admin-invitations-used');

  // Its link no longer works: someone opening it is told why, and stays out of the line.
  const { page: third, session: thirdSession } = await H.signedInPage(ui.browser, ui.node, 'third');
  await third.goto(`${ui.node.url}/invite#${otherToken}`);
  await third.getByTestId('invite').getByText('This invitation was withdrawn by the organiser.').waitFor();
  assert.equal((await status(thirdSession)).status, 'none');

  const audit = await H.call(ui.node, 'GET', `/api/v1/admin/events/${event.id}/invitations/audit`, { token: operator.accessToken });
  assert.deepEqual(
    audit.entries.map((e) => e.action),
    ['refused', 'revoked', 'redeemed', 'minted', 'minted'],
  );
});
