// common.js — behaviour every page shares: the log-out button, the
// navigation's counts (nav.js) and the "/" search shortcut (searchbox.js).
import { api, toast } from './api.js';
import './nav.js';
import './searchbox.js';

for (const btn of document.querySelectorAll('[data-action="logout"]')) {
  btn.addEventListener('click', async () => {
    try {
      await api('DELETE', '/api/v1/session', undefined, { noRedirect: true });
      location.assign('/login');
    } catch (err) {
      toast(err.message, true);
    }
  });
}
