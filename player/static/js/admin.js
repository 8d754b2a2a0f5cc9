// admin.js — the users page: create accounts. (The jobs page has admin_jobs.js.)
import './common.js';
import { api, bindForm, el, toast } from './api.js';

// Creating an account: the new person appears in the list at once, in its
// place by email, and a message that stays says what was done, so the
// admin can create the next one or pass the login on.
const ROLE_LABEL = { admin: 'Admin', teacher: 'Teacher', student: 'Student' };
const userForm = document.getElementById('user-form');

/** showNewUser puts u's row into the users table, highlighted. */
function showNewUser(u) {
  const rows = document.getElementById('user-rows');
  if (!rows) return;
  for (const tr of rows.querySelectorAll('tr.is-new')) tr.classList.remove('is-new');
  const since = new Date(u.created_at).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric' });
  const row = el('tr', { class: 'is-new', dataset: { email: u.email } },
    el('th', { scope: 'row' }, el('a', { class: 'person', href: `/admin/users/${encodeURIComponent(u.id)}` }, u.name), el('span', { class: 'muted small' }, u.email)),
    el('td', {}, el('span', { class: 'badge badge-role' }, ROLE_LABEL[u.role] || u.role)),
    // A new account owns nothing yet.
    el('td', { class: 'small' }, el('span', { class: 'muted', 'aria-label': 'none' }, '–')),
    el('td', { class: 'small muted' }, since));
  const after = [...rows.querySelectorAll('tr[data-email]')].find((tr) => tr.dataset.email > u.email);
  rows.insertBefore(row, after || null);
}

bindForm(userForm, async (f) => {
  const status = document.getElementById('user-created');
  status.hidden = true;
  const u = await api('POST', '/api/v1/users', { name: f.name, email: f.email, password: f.password, role: f.role });
  showNewUser(u);
  status.textContent = `Created ${ROLE_LABEL[u.role]?.toLowerCase() || u.role} account for ${u.name} (${u.email}). ` +
    'They can log in now with the password you chose.';
  status.hidden = false;
  userForm.reset();
  toast(`Account created for ${u.email}.`);
});
