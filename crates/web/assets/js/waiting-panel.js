// What a person sees while waiting, in the Tier-1 room (modal or page) and the Tier-2
// queue alike: position, people ahead, a progress bar, the estimated wait and when the
// next update comes. Updated in place, so screen readers hear only what changed.

import { describe } from './api.js';
import { h } from './dom.js';
import { number, roughDuration } from './format.js';
import { t } from './i18n.js';

function stat(label, testId) {
  const value = h('strong', { class: 'stat__value', 'data-testid': testId }, '—');
  const el = h('div', { class: 'stat' }, h('span', { class: 'stat__label' }, label), value);
  return { el, value };
}

export function createPanel({ title, intro }) {
  const position = stat(t('wait.position'), 'position');
  const ahead = stat(t('wait.ahead'), 'ahead');
  const eta = stat(t('wait.eta'), 'eta');
  const bar = h('progress', { class: 'progress', max: '100', value: '0', 'aria-label': t('wait.progress') });
  const phase = h('p', { class: 'wait__phase', role: 'status', 'aria-live': 'polite', 'data-testid': 'wait-phase' });
  const poll = h('p', { class: 'muted wait__poll', 'data-testid': 'next-poll' });
  const extra = h('div', { class: 'wait__extra' });
  const el = h(
    'section',
    { class: 'wait', 'aria-labelledby': 'wait-title' },
    h('h2', { id: 'wait-title', class: 'wait__title' }, title),
    intro && h('p', { class: 'muted' }, intro),
    h('div', { class: 'stats' }, position.el, ahead.el, eta.el),
    bar,
    phase,
    poll,
    extra,
  );

  let nextAt = null;
  let pollSecs = null;
  const tick = () => {
    if (!nextAt) {
      poll.textContent = '';
      return;
    }
    const left = Math.max(0, Math.ceil((nextAt - Date.now()) / 1000));
    poll.textContent = t('wait.nextPoll', { s: left, every: pollSecs });
  };
  const ticker = setInterval(tick, 500);

  return {
    el,
    extra,
    update(view) {
      position.value.textContent = view.position != null ? number(view.position) : '—';
      ahead.value.textContent = view.ahead != null ? number(view.ahead) : '—';
      eta.value.textContent = view.estimatedWait != null ? roughDuration(view.estimatedWait) : '—';
      bar.value = Math.round((view.progress ?? 0) * 100);
      bar.textContent = `${bar.value}%`;
      const phaseText = view.error ? `${t(`wait.phase.${view.phase}`)} — ${describe(view.error)}` : t(`wait.phase.${view.phase}`);
      if (phase.textContent !== phaseText) phase.textContent = phaseText;
      el.dataset.phase = view.phase;
      if (view.nextPoll && view.phase === 'waiting') {
        pollSecs = view.nextPoll;
        nextAt = Date.now() + view.nextPoll * 1000;
      } else {
        nextAt = null;
      }
      tick();
    },
    destroy() {
      clearInterval(ticker);
    },
  };
}
