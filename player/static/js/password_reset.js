// password_reset.js — the two pages of a password reset: asking for a
// link by email (the server answers the same whether or not the address
// has an account), and setting a new password with the link's token,
// which logs this browser in (and, when asked, revokes the account's API
// tokens).
import './common.js';
import { api, bindForm } from './api.js';

const forgot = document.getElementById('forgot-form');
bindForm(forgot, async (f) => {
  if (!f.email) throw new Error('Enter the email address of your account.');
  const res = await api('POST', '/api/v1/password-reset', { email: f.email }, { noRedirect: true });
  const sent = document.getElementById('forgot-sent');
  sent.textContent = res.message;
  sent.hidden = false;
  document.getElementById('forgot-step').hidden = true;
  sent.focus();
});

const reset = document.getElementById('reset-form');
bindForm(reset, async (f) => {
  if (!f.password) throw new Error('Enter a new password.');
  if (f.password !== f.password2) throw new Error('The two passwords differ.');
  const res = await api('POST', '/api/v1/password-reset/confirm',
    { token: reset.dataset.token, password: f.password, end_api_tokens: f.end_api_tokens === 'true' },
    { noRedirect: true });
  location.assign(res?.user?.role === 'admin' ? '/admin' : '/courses');
});
