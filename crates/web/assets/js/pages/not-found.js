// Unknown pages, and pages whose data could not be loaded.

import { describe } from '../api.js';
import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { notice, pageTitle } from '../ui.js';

export async function render(outlet, _ctx, err) {
  const missing = !err || err.status === 404;
  replace(
    outlet,
    pageTitle(missing ? t('notFound.title') : t('error.title')),
    notice(missing ? t('notFound.lead') : describe(err), missing ? 'info' : 'error'),
    h('p', {}, h('a', { class: 'btn', href: '/' }, t('nav.events'))),
  );
}
