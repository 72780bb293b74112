// A tiny SVG line of recent values, for the operator's queue watch.

import { s } from './dom.js';

export function sparkline(values, { width = 240, height = 48, label = '' } = {}) {
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(height - 2 - (v / max) * (height - 4)).toFixed(1)}`).join(' ');
  return s(
    'svg',
    { class: 'sparkline', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': label },
    s('polyline', { points, fill: 'none' }),
  );
}
