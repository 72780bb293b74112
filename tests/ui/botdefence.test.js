// Bot defence at Tier 1 (docs/architecture.md#bot-defence-at-tier-1) in Chromium: an
// operator asks for a proof of work (10 bits, so it is quick), a fan opens the room's
// modal, the page's worker solves the challenge with WebCrypto and the fan gets a place;
// with a CAPTCHA too, the modal's hook takes the token a local stand-in verifier checks.
// With URR_POW_BENCH=1 it also times the worker at 12, 16 and 20 bits (BENCHMARKS.md).

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { before, after, test } from 'node:test';

import * as H from './harness.js';

// A Turnstile-style stand-in verifier on a loopback port: `pass` passes.
const verifications = [];
const standIn = createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    const form = new URLSearchParams(body);
    verifications.push(Object.fromEntries(form));
    const success = form.get('secret') === 'stand-in-secret' && form.get('response') === 'pass';
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(success ? { success } : { success, 'error-codes': ['invalid-input-response'] }));
  });
});
// Filled before the node starts (this hook runs before the suite's).
const args = [];
before(async () => {
  await new Promise((resolve) => standIn.listen(0, '127.0.0.1', resolve));
  const { port } = standIn.address();
  args.push(
    '--vwr-captcha-verify-url', `http://127.0.0.1:${port}/siteverify`,
    '--vwr-captcha-secret', 'stand-in-secret',
  );
});
after(() => standIn.close());

const ui = H.suite({ args });

/** Opens the event's modal for a new fan; {fan, session, modal}. */
async function fanAtTheRoom(event, label) {
  const { page: fan, session } = await H.signedInPage(ui.browser, ui.node, label);
  await fan.goto(`${ui.node.url}/events/${event.id}`);
  await fan.getByTestId('book').click();
  const modal = fan.getByTestId('vwr-modal');
  await modal.waitFor();
  return { fan, session, modal };
}

async function positionIn(modal) {
  return Number(await H.eventually(async () => {
    const text = await modal.getByTestId('position').textContent();
    return text !== '—' && text;
  }, { what: 'a Tier-1 position' }));
}

test('the modal solves the room’s proof of work in a worker and the fan gets a place', async () => {
  const op = await H.admin(ui.node);
  const event = await H.seatedEvent(ui.node, op, { title: 'URR Bot Night' });
  // The operator sets the room's proof of work on the event's operator page and opens
  // it; paused, so the fan's place stays on screen until the operator resumes.
  const ops = await H.newPage(ui.browser);
  await H.signIn(ops, ui.node, op.email, { next: `/admin/events/${event.id}` });
  const roomCard = ops.getByTestId('room');
  await roomCard.getByLabel('Batch').fill('5');
  await roomCard.getByLabel('Interval (s)').fill('1');
  await roomCard.getByLabel('Proof of work (bits)').fill('10');
  await roomCard.locator('[data-action="open"]').click();
  await H.eventually(async () => (await ops.getByTestId('room-badge').textContent()) === 'Open', { what: 'room open' });
  await H.room(ui.node, op, event.id, 'pause');
  await ops.context().close();
  const status = await H.call(ui.node, 'GET', `/vwr-api/vwr/status/${event.id}`);
  assert.equal(status.powDifficulty, 10);

  const { fan, session, modal } = await fanAtTheRoom(event, 'solver');
  const position = await positionIn(modal);
  assert.equal(position, 1);
  const solveMs = Number(await modal.getAttribute('data-solve-ms'));
  assert.ok(Number.isFinite(solveMs) && solveMs >= 0, `the worker reported its time (${solveMs})`);
  await H.screenshot(fan, 'vwr-botdefence-en');

  // The place came through the proof: a join by API without one is refused.
  const bare = await H.register(ui.node, 'bare');
  await assert.rejects(
    H.call(ui.node, 'POST', `/vwr-api/vwr/assign/${event.id}`, { token: bare.accessToken, body: {} }),
    /400 .*challenge_required/,
  );
  // Asking again for the fan's own place needs no new proof.
  const again = await H.call(ui.node, 'POST', `/vwr-api/vwr/assign/${event.id}`, { token: session.accessToken, body: {} });
  assert.equal(again.position, 1);

  await H.room(ui.node, op, event.id, 'resume');
  await fan.waitForURL(/\/queue\//, { timeout: 30_000 });
  await fan.context().close();
});

test('with a CAPTCHA the modal takes a token the stand-in verifier checks', async () => {
  const op = await H.admin(ui.node);
  const event = await H.seatedEvent(ui.node, op, { title: 'URR Captcha Night' });
  await H.room(ui.node, op, event.id, 'open', { batch: 5, intervalSecs: 1, powDifficulty: 8, captcha: true });
  await H.room(ui.node, op, event.id, 'pause');

  const { fan, modal } = await fanAtTheRoom(event, 'human');
  const hook = modal.getByTestId('vwr-captcha');
  await hook.waitFor();
  // A wrong token is refused; the room starts over with a new challenge and asks again.
  await hook.getByLabel('Verification code').fill('fail');
  await hook.getByRole('button', { name: 'Continue' }).click();
  await H.eventually(async () => (await modal.getByTestId('wait-phase').textContent()).includes('did not pass'), { what: 'the refusal' });
  await modal.getByTestId('vwr-captcha').waitFor({ timeout: 15_000 });
  await H.screenshot(fan, 'vwr-captcha-en');
  await modal.getByTestId('vwr-captcha').getByLabel('Verification code').fill('pass');
  await modal.getByTestId('vwr-captcha').getByRole('button', { name: 'Continue' }).click();
  assert.equal(await positionIn(modal), 1);
  assert.deepEqual(verifications.map((v) => v.response), ['fail', 'pass']);
  assert.equal(verifications.at(-1).remoteip, '127.0.0.1');
  await fan.context().close();
});

test('worker solve times at 12, 16 and 20 bits', { skip: !process.env.URR_POW_BENCH }, async () => {
  const page = await H.newPage(ui.browser);
  await page.goto(`${ui.node.url}/`);
  const rows = await page.evaluate(async () => {
    const { solveChallenge } = await import('/assets/js/pow.js');
    const out = [];
    for (const [bits, runs] of [[12, 40], [16, 20], [20, 8]]) {
      const times = [];
      let tried = 0;
      for (let i = 0; i < runs; i += 1) {
        const solved = await solveChallenge(`bench.${bits}.${i}.${crypto.randomUUID()}`, bits);
        times.push(solved.ms);
        tried += solved.tried;
      }
      times.sort((a, b) => a - b);
      const total = times.reduce((a, b) => a + b, 0);
      out.push({ bits, runs, meanMs: total / runs, medianMs: times[runs >> 1], hashesPerSec: (tried / total) * 1000 });
    }
    return out;
  });
  for (const row of rows) {
    console.log(`chromium worker: ${row.bits} bits, ${row.runs} runs: mean ${row.meanMs.toFixed(1)} ms, median ${row.medianMs.toFixed(1)} ms, ${(row.hashesPerSec / 1e6).toFixed(2)} M hashes/s`);
  }
  await page.context().close();
});
