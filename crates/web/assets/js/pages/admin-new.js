// Creating an event with its ticket types and seat layout (docs/architecture.md#the-apis-shape).

import { api, describe } from '../api.js';
import { requireAdmin } from '../admin-guard.js';
import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { navigate } from '../router.js';
import { field, notice, option, pageTitle } from '../ui.js';

/** A datetime-local value `days` from now at 20:00 local, the seed's favourite hour. */
function localAt(days, hour) {
  const d = new Date();
  d.setDate(d.getDate() + days);
  d.setHours(hour, 0, 0, 0);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A growable list of rows of inputs (ticket types, sections). */
function repeater(legend, columns, initial, testId) {
  const rows = h('div', { class: 'repeater__rows' });
  const addRow = (values = {}) => {
    const inputs = columns.map((c) => field(c.label, { type: c.type, name: c.name, value: values[c.name] ?? '', min: c.min, required: c.required }));
    const remove = h('button', { type: 'button', class: 'btn btn--ghost btn--small', 'aria-label': t('admin.removeRow') }, '×');
    const row = h('div', { class: 'repeater__row' }, inputs, remove);
    row.values = () => Object.fromEntries(columns.map((c, i) => [c.name, c.type === 'number' ? Number(inputs[i].input.value) : inputs[i].input.value.trim()]));
    remove.addEventListener('click', () => row.remove());
    rows.append(row);
  };
  initial.forEach(addRow);
  const el = h(
    'fieldset',
    { class: 'repeater', 'data-testid': testId },
    h('legend', {}, legend),
    rows,
    h('button', { type: 'button', class: 'btn btn--small', onclick: () => addRow() }, t('admin.addRow')),
  );
  el.values = () => [...rows.children].map((r) => r.values()).filter((v) => Object.values(v).some((x) => x !== '' && x !== 0));
  return el;
}

export async function render(outlet) {
  if (!requireAdmin(outlet)) return;
  const f = {
    title: field(t('admin.f.title'), { name: 'title', required: true, maxlength: '200' }),
    venue: field(t('event.venue'), { name: 'venue', required: true }),
    address: field(t('event.address'), { name: 'address', required: true }),
    description: field(t('admin.f.description'), { tag: 'textarea', name: 'description', rows: '3' }),
    startsAt: field(t('event.startsAt'), { type: 'datetime-local', name: 'startsAt', required: true, value: localAt(14, 19) }),
    saleStartsAt: field(t('admin.f.saleStartsAt'), { type: 'datetime-local', name: 'saleStartsAt', required: true, value: localAt(-1, 20) }),
    status: field(t('events.status'), {
      tag: 'select',
      name: 'status',
      options: ['upcoming', 'on_sale'].map((s, i) => option(s, t(`status.${s}`), i === 1)),
    }),
  };
  const types = repeater(
    t('event.ticketTypes'),
    [
      { name: 'name', label: t('admin.f.name'), type: 'text' },
      { name: 'price', label: t('event.price'), type: 'number', min: '0' },
      { name: 'quantity', label: t('event.quantity'), type: 'number', min: '0' },
    ],
    [],
    'ticket-types',
  );
  const sections = repeater(
    t('admin.f.layout'),
    [
      { name: 'name', label: t('admin.f.section'), type: 'text' },
      { name: 'rows', label: t('admin.f.rows'), type: 'number', min: '1' },
      { name: 'seatsPerRow', label: t('admin.f.seatsPerRow'), type: 'number', min: '1' },
      { name: 'price', label: t('event.price'), type: 'number', min: '0' },
    ],
    [
      { name: 'VIP', rows: 2, seatsPerRow: 8, price: 150000 },
      { name: 'R', rows: 4, seatsPerRow: 10, price: 99000 },
    ],
    'sections',
  );
  const message = h('div', { 'aria-live': 'assertive' });
  const iso = (input) => new Date(input.value).toISOString();
  const form = h(
    'form',
    {
      class: 'card stack',
      onsubmit: async (e) => {
        e.preventDefault();
        replace(message);
        const layout = sections.values();
        const body = {
          title: f.title.input.value.trim(),
          venue: f.venue.input.value.trim(),
          address: f.address.input.value.trim(),
          description: f.description.input.value.trim() || undefined,
          startsAt: iso(f.startsAt.input),
          saleStartsAt: iso(f.saleStartsAt.input),
          status: f.status.input.value,
          ticketTypes: types.values().map((x) => ({ ...x, quantity: x.quantity || undefined })),
          seatLayout: layout.length ? { sections: layout } : undefined,
        };
        try {
          const created = await api.post('/api/v1/admin/events', body);
          navigate(`/admin/events/${created.id}`);
        } catch (err) {
          replace(message, notice(describe(err), 'error'));
        }
      },
    },
    h('div', { class: 'form-grid' }, Object.values(f)),
    sections,
    types,
    message,
    h('button', { type: 'submit', class: 'btn btn--primary btn--large' }, t('admin.create')),
  );
  replace(outlet, pageTitle(t('admin.newEvent')), form);
}
