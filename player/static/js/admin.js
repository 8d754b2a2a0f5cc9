// admin.js — create accounts; retry or cancel transcode jobs.
import './common.js';
import { api, bindForm, toast } from './api.js';

bindForm(document.getElementById('user-form'), async (f) => {
  await api('POST', '/api/v1/users', { name: f.name, email: f.email, password: f.password, role: f.role });
  toast(`Account created for ${f.email}.`);
  setTimeout(() => location.reload(), 600);
});

for (const btn of document.querySelectorAll('[data-job-action]')) {
  btn.addEventListener('click', async () => {
    const action = btn.dataset.jobAction;
    if (action === 'cancel' && !confirm('Cancel this transcode? The lesson will show it was canceled.')) return;
    btn.disabled = true;
    try {
      await api('POST', `/api/v1/admin/jobs/${encodeURIComponent(btn.dataset.jobId)}/${action}`);
      toast(action === 'retry' ? 'Queued again.' : 'Canceled.');
      setTimeout(() => location.reload(), 600);
    } catch (err) {
      toast(err.message, true);
      btn.disabled = false;
    }
  });
}
