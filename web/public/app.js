// OpsDesk console entry point: session check, header, and a small History-API router.
//   /login            the login form (also shown for any path while signed out)
//   / , /hosts        host list (?q=&environment=)
//   /hosts/<id>       host detail
//   /audit            audit trail (admin, auditor)
// The gateway answers every such path with index.html, so reloads and deep links work.
import { api, getSession, logout, setSessionLostHandler } from './api.js';
import { renderAudit } from './audit.js';
import { errorBox, h, replace } from './dom.js';
import { renderHostDetail, renderHosts } from './hosts.js';
import { renderLogin } from './login.js';

const view = document.getElementById('view');
const header = document.getElementById('app-header');
const navAudit = document.getElementById('nav-audit');

/** The signed-in user ({id, email, role, …} from /api/auth/me), or null. */
let me = null;
/** Where to go after signing in (the page the user asked for). */
let returnTo = null;

const canReadAudit = (user) => user.role === 'admin' || user.role === 'auditor';

/** Changes the URL and renders the page for it. */
function navigate(path) {
  if (path !== location.pathname + location.search) history.pushState(null, '', path);
  void render();
}

function showLogin(notice) {
  me = null;
  header.hidden = true;
  const here = location.pathname + location.search;
  if (!here.startsWith('/login')) returnTo = here;
  history.replaceState(null, '', '/login');
  document.title = 'Sign in · OpsDesk';
  renderLogin(view, {
    notice,
    onLoggedIn: () => {
      const target = returnTo && returnTo !== '/' ? returnTo : '/hosts';
      returnTo = null;
      history.replaceState(null, '', target);
      void render();
    },
  });
}

/** Loads the user once per session and fills the header. */
async function loadMe() {
  me = await api('GET', '/api/auth/me');
  document.getElementById('user-email').textContent = me.email;
  document.getElementById('user-role').textContent = me.role;
  navAudit.hidden = !canReadAudit(me);
  header.hidden = false;
}

/** Renders the page for the current URL. */
async function render() {
  if (!getSession()) return showLogin();
  if (!me) {
    try {
      await loadMe();
    } catch (err) {
      if (!getSession()) return; // the session-lost handler already showed the login form
      replace(view, errorBox(err, 'app-error'));
      return;
    }
  }
  const path = location.pathname;
  const params = new URLSearchParams(location.search);
  for (const a of header.querySelectorAll('nav a')) a.classList.toggle('active', path.startsWith(a.getAttribute('href')));

  if (path === '/' || path === '/login' || path === '/hosts') {
    if (path !== '/hosts') history.replaceState(null, '', '/hosts');
    document.title = 'Hosts · OpsDesk';
    renderHosts(view, { navigate, params });
  } else if (path.startsWith('/hosts/')) {
    document.title = 'Host · OpsDesk';
    await renderHostDetail(view, { navigate, me, id: decodeURIComponent(path.slice('/hosts/'.length)) });
  } else if (path === '/audit' && canReadAudit(me)) {
    document.title = 'Audit · OpsDesk';
    renderAudit(view);
  } else {
    replace(view, h('section', {}, h('h1', {}, 'Not found'), h('p', {}, 'This page does not exist or your role cannot open it.')));
  }
}

// In-app links in the header use the router instead of reloading the page.
for (const a of header.querySelectorAll('a[href^="/"]')) {
  a.addEventListener('click', (e) => {
    if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    navigate(a.getAttribute('href'));
  });
}

document.getElementById('logout-button').addEventListener('click', async () => {
  await logout();
  returnTo = null;
  showLogin('You have been signed out.');
});

setSessionLostHandler(() => showLogin('Your session has ended. Please sign in again.'));
window.addEventListener('popstate', () => void render());
void render();
