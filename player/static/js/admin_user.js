// admin_user.js — one account on the admin pages: its site role,
// deactivating or reactivating it, and deleting it (the page shows what
// it owns first).
import './common.js';
import { api, bindForm, toast } from './api.js';

const box = document.getElementById('admin-user');
const id = encodeURIComponent(box.dataset.userId);
const name = box.dataset.name;

bindForm(document.getElementById('user-role-form'), async (f) => {
  const u = await api('PATCH', `/api/v1/users/${id}`, { role: f.role });
  toast(`${name} is now ${u.role === 'admin' ? 'an admin' : `a ${u.role}`}.`);
  setTimeout(() => location.reload(), 600);
});

/** act asks, then sends method to path and reloads or goes to next. */
function act(button, question, method, path, done, next) {
  button?.addEventListener('click', async () => {
    if (!confirm(question)) return;
    button.disabled = true;
    try {
      await api(method, path);
      toast(done);
      setTimeout(() => (next ? location.assign(next) : location.reload()), 600);
    } catch (err) {
      toast(err.message, true);
      button.disabled = false;
    }
  });
}

act(document.getElementById('user-deactivate'),
  `Deactivate ${name}? They are logged out everywhere at once and cannot log in until you reactivate the account. Nothing they made is deleted.`,
  'POST', `/api/v1/users/${id}/deactivate`, `${name} was deactivated.`);
act(document.getElementById('user-reactivate'), `Reactivate ${name}? They can log in again.`,
  'POST', `/api/v1/users/${id}/reactivate`, `${name} can log in again.`);
act(document.getElementById('user-delete'),
  `Delete ${name} for good? Their comments, questions and progress go with the account. This cannot be undone.`,
  'DELETE', `/api/v1/users/${id}`, `${name} was deleted.`, '/admin');
