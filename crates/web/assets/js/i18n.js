// The UI's two languages. Korean first: the seed's users are Korean
// (docs/architecture.md#the-design-urr-rebuilds).

import { en } from './strings-en.js';
import { ko } from './strings-ko.js';

const DICTS = { ko, en };
const STORAGE_KEY = 'urr.lang';
const listeners = new Set();

function initial() {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (saved && DICTS[saved]) return saved;
  const preferred = navigator.languages?.length ? navigator.languages : [navigator.language];
  return preferred.some((l) => String(l).toLowerCase().startsWith('ko')) ? 'ko' : 'en';
}

let lang = initial();
document.documentElement.lang = lang;

export function getLang() {
  return lang;
}

export function setLang(next) {
  if (!DICTS[next] || next === lang) return;
  lang = next;
  localStorage.setItem(STORAGE_KEY, next);
  document.documentElement.lang = next;
  for (const listener of listeners) listener(next);
}

export function onLangChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The string for key in the current language, with {name} placeholders filled. */
export function t(key, vars) {
  const template = DICTS[lang][key] ?? en[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name) => (vars && name in vars ? String(vars[name]) : ''));
}
