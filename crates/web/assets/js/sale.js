// When an event can be booked: the seed's rule (on sale, or upcoming with its sale start
// passed; docs/architecture.md#the-design-urr-rebuilds), during an open fan-club pre-sale
// window (the server checks the membership), and never after the sale ended.

/** The pre-sale window open at `now`, if any. */
export function presaleNow(event, now = Date.now()) {
  return (event.presaleWindows ?? []).find(
    (w) => new Date(w.opensAt).getTime() <= now && now < new Date(w.closesAt).getTime(),
  );
}

export function saleOpen(event, now = Date.now()) {
  if (event.saleEndsAt && new Date(event.saleEndsAt).getTime() <= now) return false;
  if (event.status === 'on_sale') return true;
  if (event.status !== 'upcoming') return false;
  return new Date(event.saleStartsAt).getTime() <= now || Boolean(presaleNow(event, now));
}

/** Whether the sale is still ahead (a countdown is worth showing). */
export function saleAhead(event, now = Date.now()) {
  return ['upcoming', 'on_sale'].includes(event.status) && new Date(event.saleStartsAt).getTime() > now;
}
