// The login form. A second step (TOTP code) appears when the API answers AUTH.MFA_REQUIRED.
import { ApiError, login } from './api.js';
import { errorBox, h, replace } from './dom.js';

/**
 * Renders the login form into `view`; calls onLoggedIn() after a successful login.
 * @param {HTMLElement} view
 * @param {{ onLoggedIn: () => void, notice?: string }} opts
 */
export function renderLogin(view, { onLoggedIn, notice }) {
  const email = h('input', { id: 'login-email', type: 'email', name: 'email', autocomplete: 'username', required: true, autofocus: true });
  const password = h('input', { id: 'login-password', type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const totp = h('input', { id: 'login-totp', type: 'text', name: 'totp_code', inputMode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9A-Za-z-]{6,20}' });
  const totpRow = h('label', { className: 'field', hidden: true }, 'Authentication code', totp);
  const message = h('div', { className: 'message' }, notice ? h('p', { className: 'notice' }, notice) : null);
  const submit = h('button', { id: 'login-submit', type: 'submit' }, 'Sign in');

  const form = h(
    'form',
    { id: 'login-form', className: 'card login', noValidate: false },
    h('h1', {}, 'Sign in to OpsDesk'),
    h('label', { className: 'field' }, 'Email', email),
    h('label', { className: 'field' }, 'Password', password),
    totpRow,
    message,
    submit,
  );

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    replace(message);
    try {
      await login(email.value.trim(), password.value, totpRow.hidden ? undefined : totp.value.trim());
      onLoggedIn();
    } catch (err) {
      if (err instanceof ApiError && err.code === 'AUTH.MFA_REQUIRED') {
        // password was right; ask for the second factor
        totpRow.hidden = false;
        totp.required = true;
        totp.focus();
        replace(message, h('p', { className: 'notice', id: 'login-mfa' }, err.message || 'Enter the code from your authenticator app.'));
      } else if (err instanceof ApiError && err.status === 429) {
        const wait = err.retryAfter ? ` Try again in ${err.retryAfter} s.` : '';
        replace(message, errorBox({ message: `${err.message}.${wait}`.replace('..', '.'), code: err.code }, 'login-error'));
      } else {
        replace(message, errorBox(err instanceof ApiError ? err : { message: 'Cannot reach the server' }, 'login-error'));
      }
    } finally {
      submit.disabled = false;
    }
  });

  replace(view, form);
  email.focus();
}
