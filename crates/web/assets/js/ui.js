// Small shared pieces of the page: toasts, badges, notices, form fields, the sign-in guard.

import { h, replace } from './dom.js';
import { t } from './i18n.js';
import { currentUser } from './session.js';
import { navigate } from './router.js';

let toastTimer = null;

/** A short message announced to screen readers and shown at the bottom of the screen. */
export function toast(message, kind = 'info') {
  const el = document.getElementById('toast');
  replace(el, h('div', { class: `toast__body toast--${kind}` }, message));
  el.classList.add('toast--shown');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove('toast--shown'), 4000);
}

const STATUS_CLASS = {
  on_sale: 'ok',
  upcoming: 'info',
  sold_out: 'warn',
  ended: 'muted',
  cancelled: 'bad',
  pending: 'warn',
  confirmed: 'ok',
  expired: 'muted',
  refunded: 'muted',
};

export function badge(status) {
  return h('span', { class: `badge badge--${STATUS_CLASS[status] ?? 'muted'}` }, t(`status.${status}`));
}

/** A message block; role=alert for errors so they are read out at once. */
export function notice(message, kind = 'info') {
  return h('div', { class: `notice notice--${kind}`, role: kind === 'error' ? 'alert' : 'status' }, message);
}

export function loading() {
  return h('p', { class: 'muted', 'aria-busy': 'true' }, t('common.loading'));
}

/** A labelled input; returns the wrapper, the input is wrapper.input. */
export function field(label, attrs = {}) {
  const id = attrs.id ?? `f-${Math.random().toString(36).slice(2, 9)}`;
  const input = attrs.tag === 'select' || attrs.tag === 'textarea'
    ? h(attrs.tag, { ...attrs, tag: null, id, options: null }, attrs.options ?? [])
    : h('input', { ...attrs, id });
  const wrap = h('div', { class: 'field' }, h('label', { for: id }, label), input);
  wrap.input = input;
  return wrap;
}

export function option(value, label, selected = false) {
  return h('option', { value, selected }, label);
}

/** The signed-in user, or a trip to the sign-in page that comes back here. */
export function requireUser() {
  const user = currentUser();
  if (!user) {
    const next = encodeURIComponent(location.pathname + location.search);
    navigate(`/login?next=${next}`, { replace: true });
    return null;
  }
  return user;
}

export function pageTitle(text) {
  document.title = `${text} · URR`;
  return h('h1', {}, text);
}
