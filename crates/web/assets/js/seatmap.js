// The seat map in SVG: stage, sections, rows and seats from the event's layout, coloured
// by state (available / held / sold / mine / selected), usable by mouse, touch and
// keyboard (one seat in the tab order; arrow keys move, Space or Enter chooses).

import { s } from './dom.js';
import { money } from './format.js';
import { t } from './i18n.js';

const SEAT = 24;
const PITCH = 30;
const LABEL_W = 30;
const PAD = 14;
const HEADER = 30;
const SECTION_GAP = 24;
const STAGE_H = 40;
const MAX_COLS = 3;

/** Server status → the class (and words) a person sees. */
const STATUS_VIEW = { available: 'available', locked: 'held', reserved: 'sold' };

function sectionSize(section) {
  const widest = Math.max(1, ...section.rows.map((r) => r.seats.length));
  return {
    w: LABEL_W + widest * PITCH + PAD * 2,
    h: HEADER + section.rows.length * PITCH + PAD,
  };
}

/** Places sections in rows of up to MAX_COLS, centred under the stage. */
function arrange(sections) {
  const sizes = sections.map(sectionSize);
  const cols = Math.min(MAX_COLS, sections.length);
  const lines = [];
  for (let i = 0; i < sections.length; i += cols) lines.push(sizes.slice(i, i + cols).map((size, k) => ({ size, index: i + k })));
  const lineWidth = (line) => line.reduce((sum, p) => sum + p.size.w, 0) + SECTION_GAP * (line.length - 1);
  const width = Math.max(...lines.map(lineWidth), 240);
  const places = [];
  let y = STAGE_H + SECTION_GAP;
  for (const line of lines) {
    let x = (width - lineWidth(line)) / 2;
    const height = Math.max(...line.map((p) => p.size.h));
    for (const p of line) {
      places[p.index] = { x, y, ...p.size };
      x += p.size.w + SECTION_GAP;
    }
    y += height + SECTION_GAP;
  }
  return { width, height: y - SECTION_GAP + 4, places };
}

export function seatWords(seat, view) {
  return t('seatmap.seatLabel', { label: seat.label, price: money(seat.price), state: t(`seatmap.state.${view}`) });
}

/**
 * `isMine(id)`, `isSelected(id)` decide colours; `onToggle(seat)` is called when a person
 * chooses an available seat or unchooses a selected one.
 */
export function createSeatMap({ layout, isMine, isSelected, onToggle }) {
  const { width, height, places } = arrange(layout.sections);
  const seats = new Map();
  // Small venues are drawn larger: a 12-seat map should not be a postage stamp.
  const scale = Math.max(1, Math.min(1.6, 720 / width));
  const svg = s('svg', {
    class: 'seatmap',
    viewBox: `0 0 ${width} ${height}`,
    width: Math.round(width * scale),
    height: Math.round(height * scale),
    role: 'group',
    'aria-label': t('seatmap.label'),
    'aria-describedby': 'seatmap-help',
  });
  const stageW = Math.min(width * 0.6, 420);
  svg.append(
    s('rect', { class: 'stage', x: (width - stageW) / 2, y: 0, width: stageW, height: STAGE_H - 8, rx: 8 }),
    // The layout's `stage` says where the stage is (e.g. "top"); the map always puts it on top.
    s('text', { class: 'stage__label', x: width / 2, y: (STAGE_H - 8) / 2 + 5, 'text-anchor': 'middle' }, t('seatmap.stage')),
  );

  layout.sections.forEach((section, i) => {
    const box = places[i];
    const group = s('g', { class: 'section', transform: `translate(${box.x} ${box.y})`, 'aria-label': t('seatmap.section', { name: section.name }) });
    group.append(
      s('rect', { class: 'section__box', x: 0, y: 0, width: box.w, height: box.h, rx: 10 }),
      s('text', { class: 'section__name', x: PAD, y: 20 }, `${section.name} · ${money(section.price)}`),
    );
    section.rows.forEach((row, r) => {
      const y = HEADER + r * PITCH;
      group.append(s('text', { class: 'row__label', x: PAD + LABEL_W - 8, y: y + SEAT / 2 + 4, 'text-anchor': 'end', 'aria-hidden': 'true' }, String(row.number)));
      row.seats.forEach((seat, k) => {
        const x = PAD + LABEL_W + k * PITCH;
        const rect = s('rect', {
          class: 'seat',
          x,
          y,
          width: SEAT,
          height: SEAT,
          rx: 6,
          role: 'checkbox',
          tabindex: '-1',
          'data-seat-id': seat.id,
          'data-label': seat.label,
        });
        const title = s('title', {});
        rect.append(title);
        group.append(rect);
        seats.set(seat.id, { seat, rect, title, status: seat.status, cx: box.x + x, cy: box.y + y });
      });
    });
    svg.append(group);
  });

  const viewOf = (entry) => {
    if (isMine(entry.seat.id)) return 'mine';
    if (isSelected(entry.seat.id)) return 'selected';
    return STATUS_VIEW[entry.status] ?? 'sold';
  };
  const paint = (entry) => {
    const view = viewOf(entry);
    entry.rect.setAttribute('class', `seat seat--${view}`);
    entry.rect.setAttribute('aria-checked', view === 'selected' ? 'true' : 'false');
    entry.rect.setAttribute('aria-disabled', view === 'available' || view === 'selected' ? 'false' : 'true');
    entry.rect.dataset.state = view;
    const words = seatWords(entry.seat, view);
    entry.rect.setAttribute('aria-label', words);
    entry.title.textContent = words;
  };

  let focused = null;
  const setFocusable = (entry) => {
    if (focused) focused.rect.setAttribute('tabindex', '-1');
    focused = entry;
    entry.rect.setAttribute('tabindex', '0');
  };
  const firstFree = [...seats.values()].find((e) => e.status === 'available') ?? seats.values().next().value;
  if (firstFree) setFocusable(firstFree);

  const toggle = (entry) => {
    const view = viewOf(entry);
    if (view === 'available' || view === 'selected') onToggle(entry.seat);
  };

  /** The nearest seat from `from` in direction (dx, dy), preferring the same row/column. */
  const nearest = (from, dx, dy) => {
    let best = null;
    let bestScore = Infinity;
    for (const entry of seats.values()) {
      const ox = entry.cx - from.cx;
      const oy = entry.cy - from.cy;
      const along = ox * dx + oy * dy;
      if (along <= 0) continue;
      const across = Math.abs(dx ? oy : ox);
      const score = along + across * 3;
      if (score < bestScore) {
        bestScore = score;
        best = entry;
      }
    }
    return best;
  };
  const KEYS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

  svg.addEventListener('click', (e) => {
    const id = e.target.closest?.('.seat')?.dataset.seatId;
    const entry = id && seats.get(id);
    if (!entry) return;
    setFocusable(entry);
    toggle(entry);
  });
  svg.addEventListener('keydown', (e) => {
    const id = e.target.closest?.('.seat')?.dataset.seatId;
    const entry = id && seats.get(id);
    if (!entry) return;
    if (e.key === ' ' || e.key === 'Enter') {
      e.preventDefault();
      toggle(entry);
      return;
    }
    const dir = KEYS[e.key];
    if (!dir) return;
    e.preventDefault();
    const next = nearest(entry, dir[0], dir[1]);
    if (next) {
      setFocusable(next);
      next.rect.focus();
    }
  });

  for (const entry of seats.values()) paint(entry);
  // Small screens scroll sideways rather than shrink seats below a finger's width.
  svg.style.minWidth = `${Math.min(width, Math.round(width * 0.62))}px`;

  return {
    el: svg,
    seat: (id) => seats.get(id)?.seat,
    status: (id) => seats.get(id)?.status,
    setStatus(id, status) {
      const entry = seats.get(id);
      if (!entry) return;
      entry.status = status;
      paint(entry);
    },
    /** Repaints every seat (selection or ownership changed). */
    repaint() {
      for (const entry of seats.values()) paint(entry);
    },
    counts() {
      const counts = { available: 0, held: 0, sold: 0 };
      for (const entry of seats.values()) counts[STATUS_VIEW[entry.status] ?? 'sold'] += 1;
      return counts;
    },
  };
}
