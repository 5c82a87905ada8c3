// Tiny DOM helpers. Everything that comes from the API is rendered as text (textContent / text
// nodes), never parsed as HTML, so hostnames, notes, audit data etc. cannot inject markup.

/**
 * Creates an element: h('a', { href: '/x', className: 'link', onclick: fn }, 'text', childNode).
 * Attributes are set as properties (so `className`, `hidden`, `disabled`, `onclick` work), except
 * `role`, `data-*` and `aria-*` which are set with setAttribute. String children become text nodes.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'role' || key.startsWith('data-') || key.startsWith('aria-')) el.setAttribute(key, String(value));
    else el[key] = value;
  }
  append(el, children);
  return el;
}

/** Appends children (nested arrays, nodes, strings, numbers; null/undefined/false are skipped). */
export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Replaces all children of an element. */
export function replace(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

/** A readable UTC timestamp from an ISO 8601 string ('' for null). */
export function formatTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** Text for a possibly-empty value (an em dash for null/empty). */
export function text(value) {
  if (value === null || value === undefined || value === '') return '—';
  if (Array.isArray(value)) return value.length ? value.join(', ') : '—';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** An error box showing a problem's detail (and its code / request id for support). */
export function errorBox(err, id) {
  const detail = err && err.message ? err.message : String(err);
  const meta = [];
  if (err && err.code) meta.push(err.code);
  if (err && err.requestId) meta.push(`request ${err.requestId}`);
  return h('div', { className: 'error', id, role: 'alert' }, h('span', { className: 'detail' }, detail), meta.length ? h('small', {}, ` (${meta.join(', ')})`) : null);
}

/**
 * Keyset paging of a list, shared by the hosts and audit pages. The "next" button follows the server's
 * next_cursor and "first" starts over; both call `load`, which fetches `pager.cursor()` and then reports
 * the answer's next_cursor with `pager.shown(nextCursor)` (that shows or hides the buttons).
 * `pager.reset()` returns to the first page (a new search).
 */
export function keysetPager(first, next, load) {
  let cursor = null; // cursor of the page shown (null: the first page)
  let nextCursor = null;
  next.addEventListener('click', () => {
    cursor = nextCursor;
    void load();
  });
  first.addEventListener('click', () => {
    cursor = null;
    void load();
  });
  return {
    cursor: () => cursor,
    reset: () => {
      cursor = null;
    },
    shown: (answerNextCursor) => {
      nextCursor = answerNextCursor;
      next.hidden = !nextCursor;
      first.hidden = !cursor;
    },
  };
}
