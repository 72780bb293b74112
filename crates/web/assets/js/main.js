// Boot: settings, session, header, then the client-side routes.

import { loadConfig } from './config.js';
import { renderHeader } from './header.js';
import { onLangChange } from './i18n.js';
import { afterNavigate, refresh, start } from './router.js';
import { registerRoutes } from './routes.js';
import { loadSession, onSessionChange } from './session.js';

const header = document.getElementById('site-header');
const outlet = document.getElementById('app');

registerRoutes();
await Promise.all([loadConfig(), loadSession()]);
renderHeader(header);
onSessionChange(() => renderHeader(header));
onLangChange(() => {
  renderHeader(header);
  refresh();
});
afterNavigate(() => {
  for (const link of header.querySelectorAll('.site-nav a')) {
    const here = link.pathname === '/' ? location.pathname === '/' : location.pathname.startsWith(link.pathname);
    if (here) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
});
document.body.classList.add('ready');
await start(outlet);
