// The node's public settings (/api/v1/config): sign-in and payment options.

import { api } from './api.js';

let config = {
  googleClientId: null,
  toss: null,
  paymentSandbox: false,
  sandboxMethods: [],
  maxSeatsPerHold: 4,
  holdTtlSecs: 300,
};

export async function loadConfig() {
  try {
    config = { ...config, ...(await api.get('/api/v1/config')) };
  } catch (err) {
    console.warn('config unavailable; using defaults', err);
  }
  return config;
}

export function siteConfig() {
  return config;
}

/** Loads a third-party script once (Google sign-in, Toss Payments); CSP allows only those. */
const loaded = new Map();
export function loadScript(src) {
  if (!loaded.has(src)) {
    loaded.set(
      src,
      new Promise((resolve, reject) => {
        const el = document.createElement('script');
        el.src = src;
        el.async = true;
        el.onload = resolve;
        el.onerror = () => reject(new Error(`could not load ${src}`));
        document.head.append(el);
      }),
    );
  }
  return loaded.get(src);
}
