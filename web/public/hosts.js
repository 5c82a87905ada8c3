// Hosts: the searchable, filterable list (keyset pages) and one host's detail with its history
// and, for admin/operator, the governed SSH command.
import { api, ApiError, query } from './api.js';
import { errorBox, formatTime, h, keysetPager, replace, text } from './dom.js';

const ENVIRONMENTS = ['prod', 'stage', 'dev'];
const PAGE_SIZE = 50;

/**
 * The host list. Filters live in the URL (?q=&environment=) so a reload or a shared link shows the
 * same list; "Next page" follows next_cursor, "First page" starts over.
 * @param {HTMLElement} view
 * @param {{ navigate: (path: string) => void, params: URLSearchParams }} ctx
 */
export function renderHosts(view, ctx) {
  const q = h('input', { id: 'host-search', type: 'search', name: 'q', placeholder: 'Search hostname, IP, owner, team, tags…', value: ctx.params.get('q') || '' });
  const env = h('select', { id: 'host-environment', name: 'environment' }, h('option', { value: '' }, 'All environments'), ENVIRONMENTS.map((e) => h('option', { value: e }, e)));
  env.value = ctx.params.get('environment') || '';
  const filters = h('form', { id: 'host-filters', className: 'filters', role: 'search' }, q, env, h('button', { type: 'submit' }, 'Search'));
  const status = h('p', { className: 'status', id: 'hosts-status' });
  const tbody = h('tbody');
  const table = h(
    'table',
    { id: 'hosts-table', className: 'data' },
    h('thead', {}, h('tr', {}, ['Hostname', 'IP', 'Environment', 'Criticality', 'OS', 'Owner', 'Team', 'Tags'].map((c) => h('th', {}, c)))),
    tbody,
  );
  const first = h('button', { id: 'hosts-first', type: 'button', className: 'secondary', hidden: true }, 'First page');
  const next = h('button', { id: 'hosts-next', type: 'button', hidden: true }, 'Next page');
  const error = h('div');
  replace(view, h('section', {}, h('h1', {}, 'Hosts'), filters, error, status, table, h('div', { className: 'pager' }, first, next)));

  const pager = keysetPager(first, next, load);
  let loadSeq = 0; // ignore answers to superseded requests (typing fast)

  async function load() {
    const mine = ++loadSeq;
    status.textContent = 'Loading…';
    replace(error);
    try {
      const page = await api('GET', `/api/hosts${query({ q: q.value.trim(), environment: env.value, limit: PAGE_SIZE, cursor: pager.cursor() })}`);
      if (mine !== loadSeq) return;
      replace(tbody, page.items.map(hostRow));
      status.textContent = page.items.length ? `${page.items.length} host(s) on this page` : 'No hosts match.';
      pager.shown(page.next_cursor);
    } catch (err) {
      if (mine !== loadSeq) return;
      status.textContent = '';
      replace(error, errorBox(err, 'hosts-error'));
    }
  }

  function hostRow(host) {
    const link = h('a', { href: `/hosts/${encodeURIComponent(host.id)}`, className: 'host-link' }, host.hostname);
    link.addEventListener('click', (e) => {
      if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return; // let the browser open a new tab
      e.preventDefault();
      ctx.navigate(`/hosts/${encodeURIComponent(host.id)}`);
    });
    return h(
      'tr',
      { 'data-host-id': host.id },
      h('td', {}, link),
      h('td', { className: 'mono' }, host.ip),
      h('td', {}, h('span', { className: `badge env-${host.environment}` }, host.environment)),
      h('td', {}, h('span', { className: `badge crit-${host.criticality}` }, host.criticality)),
      h('td', {}, text(host.os)),
      h('td', {}, text(host.owner)),
      h('td', {}, text(host.team)),
      h('td', {}, (host.tags || []).map((t) => h('span', { className: 'tag' }, t))),
    );
  }

  /** A new search starts from the first page and is reflected in the URL (replaceState: no history spam). */
  function search() {
    pager.reset();
    const qs = query({ q: q.value.trim(), environment: env.value });
    history.replaceState(null, '', `/hosts${qs}`);
    void load();
  }

  let debounce = 0;
  q.addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = setTimeout(search, 300);
  });
  env.addEventListener('change', search);
  filters.addEventListener('submit', (e) => {
    e.preventDefault();
    clearTimeout(debounce);
    search();
  });
  void load();
}

/**
 * One host: its fields, its history (newest first) and the SSH command form.
 * @param {HTMLElement} view
 * @param {{ navigate: (path: string) => void, me: { role: string }, id: string }} ctx
 */
export async function renderHostDetail(view, ctx) {
  const back = h('a', { href: '/hosts', className: 'back' }, '← All hosts');
  back.addEventListener('click', (e) => {
    e.preventDefault();
    ctx.navigate('/hosts');
  });
  replace(view, h('section', {}, back, h('p', { className: 'status' }, 'Loading…')));

  let host;
  let history;
  try {
    const id = encodeURIComponent(ctx.id);
    [host, history] = await Promise.all([api('GET', `/api/hosts/${id}`), api('GET', `/api/hosts/${id}/history${query({ limit: 50 })}`)]);
  } catch (err) {
    replace(view, h('section', {}, back, errorBox(err, 'host-error')));
    return;
  }

  const fields = [
    ['Hostname', host.hostname],
    ['FQDN', host.fqdn],
    ['IP', host.ip],
    ['Environment', host.environment],
    ['Criticality', host.criticality],
    ['OS', host.os],
    ['Owner', host.owner],
    ['Team', host.team],
    ['Tags', host.tags],
    ['Connection', host.connection_method === 'bastion_ssh' ? `bastion ${host.bastion_host}:${host.bastion_port}` : 'direct SSH'],
    ['SSH', `${host.ssh_user ? `user ${host.ssh_user}` : 'no default user'}, port ${host.ssh_port}`],
    ['Notes', host.notes],
    ['Version', host.version],
    ['Updated', formatTime(host.updated_at)],
  ];
  const details = h('dl', { className: 'details', id: 'host-details' }, fields.map(([k, v]) => [h('dt', {}, k), h('dd', {}, text(v))]));

  const canIssue = ctx.me.role === 'admin' || ctx.me.role === 'operator';
  replace(
    view,
    h(
      'section',
      {},
      back,
      h('h1', { id: 'host-title' }, host.hostname),
      details,
      canIssue ? accessPanel(host) : null,
      h('h2', {}, 'History'),
      historyList(history.items),
    ),
  );
}

/** The "Get SSH command" button: asks for a reason, then shows the command the API rendered. */
function accessPanel(host) {
  const reason = h('input', { id: 'access-reason', type: 'text', name: 'reason', placeholder: 'Why do you need access? (e.g. ticket OPS-123)', maxLength: 500, required: true, minLength: 3 });
  // the SSH user defaults to the host's ssh_user; a host without one needs it here
  const user = h('input', { id: 'access-user', type: 'text', name: 'user', value: host.ssh_user || '', placeholder: 'login name', maxLength: 64, required: !host.ssh_user });
  const output = h('div', { id: 'access-output' });
  const submit = h('button', { type: 'submit', id: 'access-submit' }, 'Issue command');
  const form = h('form', { id: 'access-form', className: 'access-form', hidden: true }, h('label', { className: 'field' }, 'Reason', reason), h('label', { className: 'field user' }, 'SSH user', user), submit);
  const open = h('button', { type: 'button', id: 'access-button' }, 'Get SSH command');
  open.addEventListener('click', () => {
    form.hidden = false;
    open.hidden = true;
    reason.focus();
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    submit.disabled = true;
    replace(output);
    try {
      const body = { reason: reason.value.trim() };
      if (user.value.trim()) body.user = user.value.trim();
      const res = await api('POST', `/api/hosts/${encodeURIComponent(host.id)}/access-command`, body);
      const copy = h('button', { type: 'button', className: 'secondary' }, 'Copy');
      copy.addEventListener('click', () => {
        // the Clipboard API needs a secure context; on plain http the user selects the text instead
        navigator.clipboard?.writeText(res.command).then(
          () => (copy.textContent = 'Copied'),
          () => (copy.textContent = 'Select and copy'),
        );
      });
      replace(output, h('p', {}, 'Command issued (recorded in the audit trail):'), h('div', { className: 'command' }, h('code', { id: 'access-command' }, res.command), copy));
    } catch (err) {
      const fieldErrors = err instanceof ApiError && err.errors.length ? err.errors.map((fe) => `${fe.field}: ${fe.message}`).join('; ') : '';
      replace(output, errorBox(fieldErrors ? { ...err, message: `${err.message} — ${fieldErrors}`, code: err.code, requestId: err.requestId } : err, 'access-error'));
    } finally {
      submit.disabled = false;
    }
  });
  return h('div', { className: 'card access' }, h('h2', {}, 'Access'), open, form, output);
}

/** History revisions, newest first, with the fields each update changed (a creation lists every field: not shown). */
function historyList(revisions) {
  if (!revisions.length) return h('p', { className: 'status' }, 'No history.');
  return h(
    'ol',
    { className: 'history', id: 'host-history' },
    revisions.map((r) =>
      h(
        'li',
        {},
        h('strong', {}, `#${r.revision} ${r.action}`),
        ` ${formatTime(r.at)} by ${r.actor && r.actor.email ? r.actor.email : 'system'} (${r.source})`,
        r.action === 'updated' && r.changes && r.changes.length
          ? h(
              'ul',
              { className: 'changes' },
              r.changes.map((c) => h('li', {}, h('span', { className: 'mono' }, c.field), `: ${text(c.before)} → ${text(c.after)}`)),
            )
          : null,
      ),
    ),
  );
}
