// The audit trail (admin, auditor): newest records first, keyset pages.
import { api, query } from './api.js';
import { errorBox, formatTime, h, keysetPager, replace, text } from './dom.js';

/** @param {HTMLElement} view */
export function renderAudit(view) {
  const tbody = h('tbody');
  const status = h('p', { className: 'status', id: 'audit-status' });
  const error = h('div');
  const next = h('button', { id: 'audit-next', type: 'button', hidden: true }, 'Older records');
  const first = h('button', { id: 'audit-first', type: 'button', className: 'secondary', hidden: true }, 'Newest');
  const table = h(
    'table',
    { id: 'audit-table', className: 'data' },
    h('thead', {}, h('tr', {}, ['#', 'Time', 'Action', 'Actor', 'IP', 'Entity'].map((c) => h('th', {}, c)))),
    tbody,
  );
  replace(view, h('section', {}, h('h1', {}, 'Audit trail'), error, status, table, h('div', { className: 'pager' }, first, next)));

  const pager = keysetPager(first, next, load);

  async function load() {
    status.textContent = 'Loading…';
    replace(error);
    try {
      const page = await api('GET', `/api/audit${query({ limit: 50, cursor: pager.cursor() })}`);
      replace(tbody, page.items.map(row));
      status.textContent = page.items.length ? '' : 'No records.';
      pager.shown(page.next_cursor);
    } catch (err) {
      status.textContent = '';
      replace(error, errorBox(err, 'audit-error'));
    }
  }

  function row(r) {
    const actor = r.actor || {};
    return h(
      'tr',
      { 'data-seq': r.seq },
      h('td', { className: 'mono' }, String(r.seq)),
      h('td', {}, formatTime(r.occurred_at)),
      h('td', { className: 'mono' }, r.type),
      h('td', {}, text(actor.email || actor.user_id)),
      h('td', { className: 'mono' }, text(actor.ip)),
      h('td', {}, r.entity_id ? `${r.entity_type} ${r.entity_id}` : text(r.entity_type)),
    );
  }

  void load();
}
