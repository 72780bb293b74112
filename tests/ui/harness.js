// The UI tests' harness: a real `urr serve` on a loopback port with its own fresh
// PostgreSQL database and Redis key prefix (so it runs beside the cargo tests and other
// UI test files), headless Chromium from Debian, and the API calls tests use to set the
// stage (admins, events, rooms, queue settings).

import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

import { chromium } from 'playwright-core';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const BIN = process.env.URR_BIN ?? path.join(process.env.CARGO_TARGET_DIR ?? path.join(ROOT, 'target'), 'debug/urr');
const POSTGRES = process.env.URR_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS = process.env.URR_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/';
const CHROMIUM = process.env.URR_CHROMIUM ?? '/usr/bin/chromium';
export const SHOTS = process.env.URR_UI_SCREENSHOTS ?? path.join(ROOT, 'target/ui-screenshots');
export const PASSWORD = 'correct-horse-battery';
export const PHONE = { width: 390, height: 844 };

const psql = (sql) => run('psql', [POSTGRES, '-v', 'ON_ERROR_STOP=1', '-qAtc', sql]);

/** Starts a node (with `args` added to its command line); `stop()` ends it and drops its
 * database. */
export async function startNode({ args = [] } = {}) {
  const id = randomUUID().replaceAll('-', '').slice(0, 16);
  const db = `urr_ui_${id}`;
  await psql(`CREATE DATABASE ${db}`);
  const databaseUrl = POSTGRES.replace(/\/[^/]*$/, `/${db}`);
  const services = ['--database-url', databaseUrl, '--redis-url', REDIS, '--redis-prefix', `urr-ui:${id}:`];
  const child = spawn(
    BIN,
    [
      'serve',
      '--listen', '127.0.0.1:0',
      ...services,
      // The node refuses token secrets shorter than 32 bytes.
      '--jwt-secret', `ui-test-secret-${randomUUID()}`,
      '--payment-sandbox', 'true',
      '--db-max-connections', '8',
      // Quick Tier-1 advancing and hold sweeping keep waits in seconds.
      '--vwr-advance-tick-ms', '100',
      '--sweep-interval-secs', '1',
      '--sweep-grace-secs', '1',
      ...args,
    ],
    { env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stderr.on('data', (chunk) => {
    log += chunk;
    if (process.env.URR_UI_LOG) process.stderr.write(chunk);
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`urr serve did not start in 60 s:\n${log}`)), 60_000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const found = /URR listening on (http:\/\/\S+)/.exec(out);
      if (found) {
        clearTimeout(timer);
        resolve(found[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`urr serve exited with ${code}:\n${log}`));
    });
  });
  return {
    url,
    log: () => log,
    async grantAdmin(email) {
      await run(BIN, ['admin', 'grant', email, ...services]);
    },
    async stop() {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000).unref())]);
      child.kill('SIGKILL');
      await psql(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => {});
    },
  };
}

/** The preamble every UI test file shares: before its tests, a fresh node (with `args`
 * added to its command line) and a Chromium; after them, both stopped and the node's
 * database dropped. The returned object holds them as `node` and `browser` meanwhile. */
export function suite({ args } = {}) {
  const ui = { node: undefined, browser: undefined };
  before(async () => {
    ui.node = await startNode({ args });
    ui.browser = await launchBrowser();
  });
  after(async () => {
    await ui.browser?.close();
    await ui.node?.stop();
  });
  return ui;
}

export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    // Root in a container has no user namespaces for Chromium's sandbox.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}

/** A fresh browser profile (its own cookies and storage), English unless told. */
export async function newPage(browser, { locale = 'en-US', viewport = { width: 1280, height: 860 } } = {}) {
  const context = await browser.newContext({ locale, viewport });
  const page = await context.newPage();
  page.on('pageerror', (err) => console.error(`[page error] ${err.message}`));
  return page;
}

export async function screenshot(page, name) {
  mkdirSync(SHOTS, { recursive: true });
  // A sticky header would be drawn mid-page in a full-page shot taken while scrolled.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/** A JSON API call as `token` (or anonymous). */
export async function call(node, method, route, { token, body, headers = {} } = {}) {
  const response = await fetch(node.url + route, {
    method,
    headers: {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  const json = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Error(`${method} ${route} → ${response.status} ${text}`);
  return json;
}

export function uniqueEmail(label) {
  return `${label}-${randomUUID().slice(0, 8)}@urr.test`;
}

/** Registers an account through the API; {user, accessToken, email}. */
export async function register(node, label, name = label) {
  const email = uniqueEmail(label);
  const reply = await call(node, 'POST', '/api/v1/auth/register', { body: { email, password: PASSWORD, name } });
  return { ...reply, email };
}

/** An admin: registered, granted with the CLI, signed in again for a token with the role. */
export async function admin(node) {
  const { email } = await register(node, 'admin', 'Operator Kim');
  await node.grantAdmin(email);
  const reply = await call(node, 'POST', '/api/v1/auth/login', { body: { email, password: PASSWORD } });
  return { ...reply, email };
}

/** An on-sale event with a seat layout; its JSON. */
export async function seatedEvent(node, adminSession, { title = 'URR Live', sections } = {}) {
  const now = Date.now();
  return call(node, 'POST', '/api/v1/admin/events', {
    token: adminSession.accessToken,
    body: {
      title,
      venue: 'Olympic Hall',
      address: '424 Olympic-ro, Songpa-gu, Seoul',
      startsAt: new Date(now + 14 * 86_400_000).toISOString(),
      saleStartsAt: new Date(now - 3_600_000).toISOString(),
      status: 'on_sale',
      seatLayout: { sections: sections ?? [{ name: 'A', rows: 2, seatsPerRow: 6, price: 55000 }] },
    },
  });
}

export function queueSettings(node, adminSession, eventId, settings) {
  return call(node, 'PUT', `/api/v1/admin/events/${eventId}/queue`, { token: adminSession.accessToken, body: settings });
}

export function room(node, adminSession, eventId, action, body) {
  return call(node, 'POST', `/vwr-api/vwr/admin/rooms/${eventId}/${action}`, { token: adminSession.accessToken, body: body ?? {} });
}

/** Signs `page` in through the sign-in form. */
export async function signIn(page, node, email, { next = '/' } = {}) {
  await page.goto(`${node.url}/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel(/^(Email|이메일)$/).fill(email);
  await page.getByLabel(/^(Password|비밀번호)$/).fill(PASSWORD);
  await page.getByRole('button', { name: /^(Sign in|로그인)$/ }).last().click();
  await page.waitForURL((url) => !url.pathname.startsWith('/login'));
}

/** Polls `fn` until it returns something truthy (or throws after `ms`). */
export async function eventually(fn, { ms = 15_000, every = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Error(`timed out waiting for ${what}: ${last}`);
}

/** A new browser profile signed in as a newly registered person; {page, session}. */
export async function signedInPage(browser, node, label, options) {
  const session = await register(node, label, label[0].toUpperCase() + label.slice(1));
  const page = await newPage(browser, options);
  await signIn(page, node, session.email);
  return { page, session };
}

/** The id of the `index`-th seat of an event's map, in layout order. */
export async function seatIds(node, eventId) {
  const map = await call(node, 'GET', `/api/v1/seats/events/${eventId}`);
  return map.layout.sections.flatMap((s) => s.rows.flatMap((r) => r.seats.map((seat) => ({ id: seat.id, label: seat.label }))));
}
