// login.js — the login form posts to the session API, which sets the
// cookie, then goes where the login page was asked to return to (a page of
// this site only), or to the person's home: admins to the admin page,
// everyone else to their courses.
import './common.js';
import { api, bindForm } from './api.js';

/** sameSitePath reports whether next is a path on this site. */
function sameSitePath(next) {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return false;
  if (/[\u0000-\u001f\u007f]/.test(next)) return false;
  try { return new URL(next, location.origin).origin === location.origin; } catch { return false; }
}

const form = document.getElementById('login-form');
bindForm(form, async (f) => {
  if (!f.email || !f.password) throw new Error('Enter your email and password.');
  const res = await api('POST', '/api/v1/session', { email: f.email, password: f.password }, { noRedirect: true });
  const next = form.dataset.next;
  const home = res?.user?.role === 'admin' ? '/admin' : '/courses';
  location.assign(sameSitePath(next) ? next : home);
});
