// invitation.js — the page an invitation mail links to: the invited
// person chooses a name and password, which creates their account, puts
// them in the course and logs this browser in.
import './common.js';
import { api, bindForm } from './api.js';

const form = document.getElementById('invitation-form');
bindForm(form, async (f) => {
  if (!f.name || !f.name.trim()) throw new Error('Enter your name.');
  if (!f.password) throw new Error('Choose a password.');
  if (f.password !== f.password2) throw new Error('The two passwords differ.');
  const res = await api('POST', '/api/v1/invitations/accept',
    { token: form.dataset.token, name: f.name, password: f.password }, { noRedirect: true });
  location.assign(`/courses/${encodeURIComponent(res.course_id)}`);
});
