// Sign in and sign up (email and password), Google's button when the node has a Google
// client id, and the page a mailed verification link opens.

import { api, describe } from '../api.js';
import { loadScript, siteConfig } from '../config.js';
import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { navigate } from '../router.js';
import { signIn, signInWithGoogle, signUp } from '../session.js';
import { field, notice, pageTitle } from '../ui.js';

const GOOGLE_SDK = 'https://accounts.google.com/gsi/client';

/** Only same-site paths: `next` comes from the URL and must not send people elsewhere. */
function nextPath(ctx) {
  const next = ctx.query.get('next') ?? '/';
  return next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

function googleButton(ctx, message) {
  const clientId = siteConfig().googleClientId;
  if (!clientId) return null;
  const slot = h('div', { class: 'google-slot', 'data-testid': 'google-signin' });
  loadScript(GOOGLE_SDK)
    .then(() => {
      if (!ctx.alive) return;
      window.google.accounts.id.initialize({
        client_id: clientId,
        callback: async ({ credential }) => {
          try {
            await signInWithGoogle(credential);
            navigate(nextPath(ctx), { replace: true });
          } catch (err) {
            replace(message, notice(describe(err), 'error'));
          }
        },
      });
      window.google.accounts.id.renderButton(slot, { theme: 'outline', size: 'large', width: 280 });
    })
    .catch(() => replace(slot, h('p', { class: 'muted' }, t('auth.googleUnavailable'))));
  return h('div', { class: 'stack' }, h('p', { class: 'divider' }, t('auth.or')), slot);
}

function page({ title, fields, submitLabel, submit, footer }) {
  return {
    async render(outlet, ctx) {
      const message = h('div', { 'aria-live': 'assertive' });
      const button = h('button', { type: 'submit', class: 'btn btn--primary btn--large' }, submitLabel());
      const made = fields();
      const form = h(
        'form',
        {
          class: 'stack',
          onsubmit: async (e) => {
            e.preventDefault();
            button.disabled = true;
            replace(message);
            try {
              await submit(made);
              navigate(nextPath(ctx), { replace: true });
            } catch (err) {
              replace(message, notice(describe(err), 'error'));
              button.disabled = false;
            }
          },
        },
        Object.values(made),
        message,
        button,
      );
      replace(outlet, h('div', { class: 'card card--narrow' }, pageTitle(title()), form, googleButton(ctx, message), footer(ctx)));
    },
  };
}

const keepNext = (ctx, path) => {
  const next = ctx.query.get('next');
  return next ? `${path}?next=${encodeURIComponent(next)}` : path;
};

export const signInPage = page({
  title: () => t('auth.signInTitle'),
  submitLabel: () => t('auth.signIn'),
  fields: () => ({
    email: field(t('auth.email'), { type: 'email', name: 'email', autocomplete: 'email', required: true }),
    password: field(t('auth.password'), { type: 'password', name: 'password', autocomplete: 'current-password', required: true }),
  }),
  submit: (f) => signIn(f.email.input.value.trim(), f.password.input.value),
  footer: (ctx) => h('p', { class: 'muted' }, t('auth.noAccount'), ' ', h('a', { href: keepNext(ctx, '/signup') }, t('auth.signUp'))),
});

export const signUpPage = page({
  title: () => t('auth.signUpTitle'),
  submitLabel: () => t('auth.signUp'),
  fields: () => ({
    name: field(t('auth.name'), { type: 'text', name: 'name', autocomplete: 'name', required: true, maxlength: '100' }),
    email: field(t('auth.email'), { type: 'email', name: 'email', autocomplete: 'email', required: true }),
    password: field(t('auth.passwordNew'), { type: 'password', name: 'password', autocomplete: 'new-password', required: true, minlength: '8' }),
  }),
  submit: (f) => signUp(f.name.input.value.trim(), f.email.input.value.trim(), f.password.input.value),
  footer: (ctx) => h('p', { class: 'muted' }, t('auth.haveAccount'), ' ', h('a', { href: keepNext(ctx, '/login') }, t('auth.signIn'))),
});

/** Where the mailed link lands: uses its token once and says how that went. */
export const verifyEmailPage = {
  async render(outlet, ctx) {
    const status = h('div', { 'aria-live': 'polite', 'data-testid': 'verify-email' }, notice(t('verify.working')));
    replace(outlet, h('div', { class: 'card card--narrow' }, pageTitle(t('verify.title')), status));
    const token = ctx.query.get('token') ?? '';
    try {
      await api.post('/api/v1/auth/verify-email', { token });
      if (!ctx.alive) return;
      replace(status, notice(t('verify.done'), 'ok'), h('p', {}, h('a', { class: 'btn', href: '/' }, t('nav.events'))));
    } catch (err) {
      if (!ctx.alive) return;
      replace(status, notice(describe(err), 'error'));
    }
  },
};
