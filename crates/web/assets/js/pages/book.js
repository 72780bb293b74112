// Booking by ticket type, for events without a seat map (docs/architecture.md#booking).

import { api, describe } from '../api.js';
import { h, replace } from '../dom.js';
import { money } from '../format.js';
import { t } from '../i18n.js';
import { navigate } from '../router.js';
import { entryHeaders } from '../queue-client.js';
import { field, loading, notice, option, pageTitle, requireUser } from '../ui.js';

export async function render(outlet, ctx) {
  if (!requireUser()) return;
  replace(outlet, loading());
  const eventId = ctx.params.id;
  const [event, rules] = await Promise.all([
    api.get(`/api/v1/events/${eventId}`),
    api.get(`/api/v1/events/${eventId}/booking`),
  ]);
  if (!ctx.alive) return;
  const types = event.ticketTypes ?? [];
  const typeField = field(t('book.ticketType'), {
    tag: 'select',
    name: 'ticketType',
    options: types.map((tt, i) => option(tt.id, `${tt.name} · ${money(tt.price)}`, i === 0)),
  });
  const qty = field(t('book.quantity'), { type: 'number', name: 'quantity', min: '1', max: String(rules.maxSeatsPerHold), value: '1', inputmode: 'numeric' });
  const total = h('p', { class: 'total' });
  const message = h('div', { 'aria-live': 'assertive' });
  const update = () => {
    const tt = types.find((x) => x.id === typeField.input.value);
    const n = Number(qty.input.value) || 0;
    replace(total, t('seats.total'), ' ', h('strong', {}, money((tt?.price ?? 0) * n)));
  };
  typeField.input.addEventListener('change', update);
  qty.input.addEventListener('input', update);
  update();
  const form = h(
    'form',
    {
      class: 'card card--narrow stack',
      onsubmit: async (e) => {
        e.preventDefault();
        replace(message);
        try {
          const held = await api.post(
            '/api/v1/reservations',
            {
              eventId,
              ticketTypeId: typeField.input.value,
              quantity: Number(qty.input.value),
              idempotencyKey: crypto.randomUUID(),
            },
            { headers: entryHeaders(eventId) },
          );
          navigate(`/payment/${held.reservationId}`);
        } catch (err) {
          replace(message, notice(describe(err), 'error'));
        }
      },
    },
    typeField,
    qty,
    h('p', { class: 'muted' }, t('book.limit', { limit: rules.maxSeatsPerHold })),
    total,
    message,
    h('button', { type: 'submit', class: 'btn btn--primary btn--large' }, t('book.hold')),
  );
  replace(outlet, pageTitle(event.title), types.length ? form : notice(t('book.none')));
}
