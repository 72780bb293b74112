// The site header: brand, navigation, language switch, and who is signed in.

import { h, replace } from './dom.js';
import { getLang, setLang, t } from './i18n.js';
import { currentUser, isAdmin, isStaff, signOut } from './session.js';
import { navigate } from './router.js';

export function renderHeader(el) {
  const user = currentUser();
  const nav = h(
    'nav',
    { class: 'site-nav', 'aria-label': t('nav.label') },
    h('a', { href: '/' }, t('nav.events')),
    user && h('a', { href: '/reservations' }, t('nav.reservations')),
    isStaff() && h('a', { href: '/check-in' }, t('nav.checkIn')),
    isAdmin() && h('a', { href: '/admin' }, t('nav.admin')),
  );
  const other = getLang() === 'ko' ? 'en' : 'ko';
  const langButton = h(
    'button',
    {
      type: 'button',
      class: 'btn btn--ghost btn--small',
      lang: other,
      'aria-label': t('lang.switch'),
      onclick: () => setLang(other),
    },
    other === 'ko' ? '한국어' : 'English',
  );
  const account = user
    ? h(
        'div',
        { class: 'account' },
        h('span', { class: 'account__name', title: user.email }, user.name),
        h(
          'button',
          {
            type: 'button',
            class: 'btn btn--ghost btn--small',
            onclick: async () => {
              await signOut();
              navigate('/');
            },
          },
          t('auth.signOut'),
        ),
      )
    : h(
        'div',
        { class: 'account' },
        h('a', { href: '/login', class: 'btn btn--ghost btn--small' }, t('auth.signIn')),
        h('a', { href: '/signup', class: 'btn btn--primary btn--small' }, t('auth.signUp')),
      );
  replace(
    el,
    h(
      'div',
      { class: 'container site-header__inner' },
      h('a', { href: '/', class: 'brand', 'aria-label': 'URR' }, h('span', { class: 'brand__mark', 'aria-hidden': 'true' }, 'U'), 'URR'),
      nav,
      h('div', { class: 'site-header__tools' }, langButton, account),
    ),
  );
}
