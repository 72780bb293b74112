// The Tier-1 room's CAPTCHA hook point (docs/architecture.md#bot-defence-at-tier-1). URR
// loads no provider's script. A site that wants a real widget serves its loader (and adds
// its origins to the CSP in crates/web/src/lib.rs) and sets, before the room opens:
//
//   window.urrCaptcha = {
//     /** Draws the widget in `container`; resolves the token the verifier checks. */
//     render(container, { siteKey }) { return Promise.resolve('token'); },
//   };
//
// Without a provider the hook asks for the token in a plain field, which is what a local
// stand-in verifier (and the tests) use.

import { h } from './dom.js';
import { t } from './i18n.js';

/** A `captcha({siteKey})` callback for WaitingRoom that draws into `container`. */
export function captchaHook(container) {
  return ({ siteKey }) => {
    const box = h('div', { class: 'captcha', 'data-testid': 'vwr-captcha' });
    container.append(box);
    const provider = window.urrCaptcha;
    if (typeof provider?.render === 'function') {
      return Promise.resolve(provider.render(box, { siteKey })).finally(() => box.remove());
    }
    return new Promise((resolve) => {
      const input = h('input', { id: 'vwr-captcha-token', type: 'text', autocomplete: 'off', required: true });
      const form = h(
        'form',
        { class: 'form' },
        h('p', { class: 'muted' }, t('vwr.captcha.intro')),
        h('label', { for: 'vwr-captcha-token' }, t('vwr.captcha.label')),
        input,
        h('button', { type: 'submit', class: 'btn' }, t('vwr.captcha.submit')),
      );
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        const token = input.value.trim();
        if (!token) return;
        box.remove();
        resolve(token);
      });
      box.append(form);
      input.focus();
    });
  };
}
