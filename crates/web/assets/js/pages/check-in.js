// The door (docs/tickets.md): staff pick the event and their gate, then check tickets in
// by camera (where the browser reads QR codes itself: BarcodeDetector), by a photo (read
// here when it can, else by the server), or by typing the code printed under the QR.

import { api, describe } from '../api.js';
import { h, replace } from '../dom.js';
import { dateTime } from '../format.js';
import { t } from '../i18n.js';
import { isStaff } from '../session.js';
import { field, notice, option, pageTitle, requireUser } from '../ui.js';

const REMEMBER = 'urr.door';
/** A code seen by the camera is not sent again for this long (it stays in view). */
const SAME_CODE_MS = 4000;

function remembered() {
  try {
    return JSON.parse(localStorage.getItem(REMEMBER) ?? '{}') ?? {};
  } catch {
    return {};
  }
}

/** What the door shows after a scan, and says to a screen reader. */
function verdict(result) {
  const { kind, title, lines } = result;
  return h(
    'div',
    { class: `door-result door-result--${kind === 'admitted' ? 'ok' : 'bad'}`, role: 'alert', 'data-testid': 'checkin-result', dataset: { verdict: kind } },
    h('strong', { class: 'door-result__title' }, title),
    lines.filter(Boolean).map((line) => h('p', {}, line)),
  );
}

function admitted(reply) {
  return {
    kind: 'admitted',
    title: t('door.admitted'),
    lines: [`${reply.ticket.label} · ${reply.ticket.holderName}`],
  };
}

function refused(err) {
  const body = err.body ?? {};
  const ticket = body.ticket ? `${body.ticket.label} · ${body.ticket.holderName}` : null;
  switch (err.code) {
    case 'already_checked_in': {
      const first = body.firstCheckIn;
      return {
        kind: 'already',
        title: t('door.already'),
        lines: [ticket, first && t('door.firstScan', { gate: first.gate, at: dateTime(first.at), staff: first.staffName })],
      };
    }
    case 'ticket_void':
      return { kind: 'void', title: t('door.void'), lines: [ticket, err.message] };
    case 'wrong_event':
      return { kind: 'wrong_event', title: t('door.wrongEvent'), lines: [ticket] };
    case 'invalid_ticket_code':
      return { kind: 'invalid', title: t('door.invalid'), lines: [t('door.invalidHint')] };
    default:
      return { kind: 'error', title: t('door.error'), lines: [describe(err)] };
  }
}

export async function render(outlet, ctx) {
  if (!requireUser()) return;
  if (!isStaff()) {
    replace(outlet, pageTitle(t('door.title')), notice(t('door.forbidden'), 'error'));
    return;
  }
  let events;
  try {
    events = (await api.get('/api/v1/events?limit=100')).events;
  } catch (err) {
    replace(outlet, pageTitle(t('door.title')), notice(describe(err), 'error'));
    return;
  }
  if (!ctx.alive) return;
  const saved = remembered();
  const eventField = field(t('door.event'), {
    tag: 'select',
    name: 'event',
    options: events.map((e) => option(e.id, e.title, e.id === saved.eventId)),
  });
  const gateField = field(t('door.gate'), { name: 'gate', value: saved.gate ?? '', required: true, maxlength: 60, placeholder: t('door.gateHint') });
  const remember = () =>
    localStorage.setItem(REMEMBER, JSON.stringify({ eventId: eventField.input.value, gate: gateField.input.value.trim() }));
  eventField.input.addEventListener('change', remember);
  gateField.input.addEventListener('change', remember);

  const result = h('div', { class: 'door-result-slot' });
  const history = h('ol', { class: 'door-history', 'aria-label': t('door.history') });
  const show = (outcome) => {
    replace(result, verdict(outcome));
    history.prepend(h('li', { dataset: { verdict: outcome.kind } }, `${new Date().toLocaleTimeString()} · ${outcome.title}${outcome.lines[0] ? ` · ${outcome.lines[0]}` : ''}`));
    while (history.children.length > 10) history.lastChild.remove();
    // A buzz the door person feels when a ticket is refused.
    if (outcome.kind !== 'admitted') navigator.vibrate?.(200);
  };
  /** Where the door is, or null (and a message) when it is not set yet. */
  const door = () => {
    const gate = gateField.input.value.trim();
    if (!eventField.input.value || !gate) {
      show({ kind: 'error', title: t('door.error'), lines: [t('door.setFirst')] });
      gateField.input.focus();
      return null;
    }
    remember();
    return { eventId: eventField.input.value, gate };
  };
  const submitCode = async (code) => {
    const at = door();
    if (!at) return;
    try {
      show(admitted(await api.post('/api/v1/check-in', { ...at, code })));
    } catch (err) {
      show(refused(err));
    }
  };
  const detector = 'BarcodeDetector' in window ? new window.BarcodeDetector({ formats: ['qr_code'] }) : null;
  const submitPhoto = async (file) => {
    const at = door();
    if (!at) return;
    if (detector) {
      try {
        const found = await detector.detect(await createImageBitmap(file));
        if (found.length) return submitCode(found[0].rawValue);
      } catch {
        // Fall through to the server, which reads it too.
      }
    }
    try {
      const query = new URLSearchParams(at);
      show(admitted(await api.upload(`/api/v1/check-in/photo?${query}`, file)));
    } catch (err) {
      show(refused(err));
    }
  };

  const codeField = field(t('door.code'), { name: 'code', autocomplete: 'off', autocapitalize: 'characters', spellcheck: 'false', placeholder: 'URR1…' });
  const manual = h(
    'form',
    {
      class: 'card stack',
      onsubmit: async (e) => {
        e.preventDefault();
        const code = codeField.input.value.trim();
        if (!code) return;
        await submitCode(code);
        codeField.input.value = '';
        codeField.input.focus();
      },
    },
    h('h2', {}, t('door.manual')),
    codeField,
    h('button', { type: 'submit', class: 'btn btn--primary' }, t('door.checkIn')),
  );

  const photoInput = h('input', { type: 'file', accept: 'image/*', capture: 'environment', id: 'door-photo', name: 'photo' });
  photoInput.addEventListener('change', async () => {
    const [file] = photoInput.files;
    if (file) await submitPhoto(file);
    photoInput.value = '';
  });
  const photo = h(
    'div',
    { class: 'card stack' },
    h('h2', {}, t('door.photo')),
    h('label', { for: 'door-photo' }, t('door.photoHint')),
    photoInput,
  );

  const camera = h('div', { class: 'card stack' }, h('h2', {}, t('door.camera')));
  if (detector && navigator.mediaDevices?.getUserMedia) {
    const video = h('video', { class: 'door-video', muted: true, playsinline: true, 'aria-label': t('door.camera') });
    const start = h('button', { type: 'button', class: 'btn' }, t('door.startCamera'));
    let stream = null;
    let last = { code: null, at: 0 };
    const stop = () => {
      stream?.getTracks().forEach((track) => track.stop());
      stream = null;
    };
    ctx.onLeave(stop);
    start.addEventListener('click', async () => {
      if (stream) {
        stop();
        start.textContent = t('door.startCamera');
        return;
      }
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
      } catch (err) {
        show({ kind: 'error', title: t('door.error'), lines: [t('door.noCamera', { why: err.message })] });
        return;
      }
      video.srcObject = stream;
      await video.play();
      start.textContent = t('door.stopCamera');
      let busy = false;
      ctx.every(300, async () => {
        if (!stream || busy || video.readyState < 2) return;
        busy = true;
        try {
          const [found] = await detector.detect(video);
          const now = Date.now();
          if (found && (found.rawValue !== last.code || now - last.at > SAME_CODE_MS)) {
            last = { code: found.rawValue, at: now };
            await submitCode(found.rawValue);
          }
        } catch {
          // A frame that could not be read; the next one may.
        } finally {
          busy = false;
        }
      });
    });
    camera.append(start, video);
  } else {
    camera.append(notice(t('door.noDetector')));
  }

  replace(
    outlet,
    pageTitle(t('door.title')),
    h('div', { class: 'card stack' }, eventField, gateField),
    result,
    h('div', { class: 'admin-grid' }, camera, photo, manual),
    h('h2', {}, t('door.history')),
    history,
  );
}
