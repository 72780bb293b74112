// Who is signed in, as the server says (/auth/me), and sign-in / sign-out.

import { api, forgetSession, hasSession, rememberSession } from './api.js';

let user = null;
const listeners = new Set();

function changed() {
  for (const listener of listeners) listener(user);
}

export function currentUser() {
  return user;
}

export function isAdmin() {
  return user?.role === 'admin';
}

/** Door staff, or an admin: may check tickets in (docs/tickets.md). */
export function isStaff() {
  return user?.role === 'staff' || isAdmin();
}

export function onSessionChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Asks the server who we are; a 401 (after one refresh) means nobody. */
export async function loadSession() {
  if (!hasSession()) {
    user = null;
    return null;
  }
  try {
    user = (await api.get('/api/v1/auth/me')).user;
  } catch (err) {
    if (err.status === 401) forgetSession();
    user = null;
  }
  changed();
  return user;
}

async function started(reply) {
  rememberSession(reply);
  user = reply.user;
  changed();
  return user;
}

export async function signIn(email, password) {
  return started(await api.post('/api/v1/auth/login', { email, password }, { retry: false }));
}

export async function signUp(name, email, password) {
  return started(await api.post('/api/v1/auth/register', { name, email, password }, { retry: false }));
}

export async function signInWithGoogle(credential) {
  return started(await api.post('/api/v1/auth/google', { credential }, { retry: false }));
}

export async function signOut() {
  try {
    await api.post('/api/v1/auth/logout', {}, { retry: false });
  } finally {
    forgetSession();
    user = null;
    changed();
  }
}
