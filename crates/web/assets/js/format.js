// Money, dates and durations in the reader's language.

import { getLang, t } from './i18n.js';

const locale = () => (getLang() === 'ko' ? 'ko-KR' : 'en-US');

/** Won, as Koreans and others read it: 10,000원 / ₩10,000. */
export function money(won) {
  if (won == null) return '—';
  const n = new Intl.NumberFormat(locale()).format(won);
  return getLang() === 'ko' ? `${n}원` : `₩${n}`;
}

export function priceRange(min, max) {
  if (min == null && max == null) return t('price.none');
  if (min === max || max == null) return money(min);
  return `${money(min)} – ${money(max)}`;
}

export function dateTime(iso) {
  if (!iso) return '—';
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
}

/** 3725 → "1:02:05"; 65 → "1:05". */
export function clock(totalSeconds) {
  const s = Math.max(0, Math.floor(totalSeconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** A rough human duration: "about 3 min", "under a minute". */
export function roughDuration(seconds) {
  if (seconds == null || !Number.isFinite(seconds)) return t('wait.unknown');
  if (seconds < 60) return t('wait.underMinute');
  if (seconds < 3600) return t('wait.minutes', { n: Math.round(seconds / 60) });
  return t('wait.hours', { n: (seconds / 3600).toFixed(1) });
}

/** A countdown to iso: "2d 3:04:05" style, or null once it has passed. */
export function countdown(iso, now = Date.now()) {
  const left = (new Date(iso).getTime() - now) / 1000;
  if (left <= 0) return null;
  const days = Math.floor(left / 86400);
  const rest = clock(left % 86400);
  return days > 0 ? t('countdown.days', { d: days, rest }) : rest;
}

export function number(n) {
  return n == null ? '—' : new Intl.NumberFormat(locale()).format(n);
}
