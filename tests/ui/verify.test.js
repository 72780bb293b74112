// The link a new account is mailed confirms its email address once: the page it opens
// says so, and a second visit says the link was used.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';

import * as H from './harness.js';

const MAIL = path.join(os.tmpdir(), `urr-ui-mail-${randomUUID()}.jsonl`);
const ui = H.suite({ args: ['--mail-sender', 'file', '--mail-file', MAIL] });

after(() => {
  rmSync(MAIL, { force: true });
});

/** The verification link mailed to `email`, as the message carries it. */
function mailedLink(email) {
  let text = '';
  try {
    text = readFileSync(MAIL, 'utf8');
  } catch {
    return null;
  }
  const mail = text.split('\n').filter(Boolean).map((line) => JSON.parse(line)).findLast((m) => m.to === email);
  return mail?.text.match(/https?:\/\/\S+\/verify-email\?token=\S+/)?.[0] ?? null;
}

test('the mailed link confirms the email address, once', async () => {
  const session = await H.register(ui.node, 'mailed');
  const me = () => H.call(ui.node, 'GET', '/api/v1/auth/me', { token: session.accessToken });
  assert.equal((await me()).user.emailVerified, false);
  const link = await H.eventually(async () => mailedLink(session.email), { what: 'the verification mail' });
  // The link points at the node's own pages (its path and token, on this test's host).
  const { pathname, search } = new URL(link);
  const page = await H.newPage(ui.browser);
  await page.goto(`${ui.node.url}${pathname}${search}`);
  const status = page.getByTestId('verify-email');
  await H.eventually(async () => (await status.textContent()).includes('confirmed'), { what: 'the confirmation' });
  await H.screenshot(page, 'verify-email');
  assert.equal((await me()).user.emailVerified, true);
  await page.reload();
  await H.eventually(async () => (await status.textContent()).includes('already used'), { what: 'the used-link notice' });
});
