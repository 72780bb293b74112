// Operator pages are for admins; others are told so rather than shown broken forms.

import { t } from './i18n.js';
import { isAdmin } from './session.js';
import { notice, pageTitle, requireUser } from './ui.js';

export function requireAdmin(outlet) {
  if (!requireUser()) return false;
  if (isAdmin()) return true;
  outlet.replaceChildren(pageTitle(t('admin.title')), notice(t('admin.forbidden'), 'error'));
  return false;
}
