// Client-side routes on the History API. Each page's render(outlet, ctx) gets the route's
// params and query, and a ctx whose timers, streams and listeners end when the reader
// leaves the page.

const routes = [];
let outlet = null;
let current = null;

/** Registers pattern ('/events/:id/seats') → page module with render(outlet, ctx). */
export function route(pattern, page) {
  const names = [];
  const source = pattern.replace(/:(\w+)/g, (_, name) => {
    names.push(name);
    return '([^/]+)';
  });
  routes.push({ regex: new RegExp(`^${source}/?$`), names, page });
}

function match(pathname) {
  for (const r of routes) {
    const m = r.regex.exec(pathname);
    if (m) {
      const params = Object.fromEntries(r.names.map((n, i) => [n, decodeURIComponent(m[i + 1])]));
      return { page: r.page, params };
    }
  }
  return null;
}

class PageContext {
  constructor(params, query) {
    this.params = params;
    this.query = query;
    this.controller = new AbortController();
    this.cleanups = [];
  }
  get signal() {
    return this.controller.signal;
  }
  get alive() {
    return !this.controller.signal.aborted;
  }
  onLeave(fn) {
    this.cleanups.push(fn);
  }
  every(ms, fn) {
    const id = setInterval(fn, ms);
    this.onLeave(() => clearInterval(id));
    return id;
  }
  after(ms, fn) {
    const id = setTimeout(fn, ms);
    this.onLeave(() => clearTimeout(id));
    return id;
  }
  leave() {
    this.controller.abort();
    for (const fn of this.cleanups.splice(0)) {
      try {
        fn();
      } catch (err) {
        console.error(err);
      }
    }
  }
}

let notFound = null;
let onNavigate = () => {};

export function setNotFound(page) {
  notFound = page;
}

export function afterNavigate(fn) {
  onNavigate = fn;
}

export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  return render();
}

/** Renders the current location again (e.g. after the language changed). */
export function refresh() {
  return render({ keepFocus: true });
}

async function render({ keepFocus = false } = {}) {
  current?.leave();
  const found = match(location.pathname);
  const ctx = new PageContext(found?.params ?? {}, new URLSearchParams(location.search));
  current = ctx;
  outlet.replaceChildren();
  const page = found?.page ?? notFound;
  try {
    await page.render(outlet, ctx);
  } catch (err) {
    if (!ctx.alive) return;
    console.error(err);
    outlet.replaceChildren();
    await notFound.render(outlet, ctx, err);
  }
  if (!ctx.alive) return;
  onNavigate();
  if (!keepFocus) {
    const heading = outlet.querySelector('h1');
    if (heading) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: true });
    }
    window.scrollTo(0, 0);
  }
}

function isInternal(link) {
  return (
    link.origin === location.origin &&
    !link.target &&
    !link.hasAttribute('download') &&
    !/^\/(api|vwr-api|assets)(\/|$)/.test(link.pathname)
  );
}

export function start(el) {
  outlet = el;
  window.addEventListener('popstate', () => render());
  document.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const link = event.target.closest?.('a[href]');
    if (!link || !isInternal(link)) return;
    event.preventDefault();
    navigate(link.pathname + link.search);
  });
  return render();
}
