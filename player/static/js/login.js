// login.js — the login form posts to the session API, which sets the cookie.
import './common.js';
import { api, bindForm } from './api.js';

const form = document.getElementById('login-form');
bindForm(form, async (f) => {
  if (!f.email || !f.password) throw new Error('Enter your email and password.');
  await api('POST', '/api/v1/session', { email: f.email, password: f.password }, { noRedirect: true });
  const next = form.dataset.next;
  location.assign(next && next.startsWith('/') && !next.startsWith('//') ? next : '/courses');
});
