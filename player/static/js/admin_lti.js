// admin_lti.js — the LMS (LTI) admin page: register and remove platforms,
// sync a platform's rosters, rotate Lectern's signing key. The page is rendered again after each
// change, so that it shows what the server stored.
import './common.js';
import { api, bindForm, toast } from './api.js';

bindForm(document.getElementById('platform-form'), async (f) => {
  const ids = String(f.deployment_ids || '').split(',').map((s) => s.trim()).filter(Boolean);
  await api('POST', '/api/v1/admin/lti/platforms', {
    name: f.name, issuer: f.issuer, client_id: f.client_id, deployment_ids: ids,
    auth_login_url: f.auth_login_url, token_url: f.token_url, jwks_url: f.jwks_url, admin_role: f.admin_role,
  });
  toast('Platform registered.');
  location.reload();
});

for (const btn of document.querySelectorAll('[data-action="delete-platform"]')) {
  btn.addEventListener('click', async () => {
    if (!confirm('Remove this platform? Its launches stop working; its courses and people stay in Lectern.')) return;
    try {
      await api('DELETE', `/api/v1/admin/lti/platforms/${encodeURIComponent(btn.dataset.id)}`);
      location.reload();
    } catch (err) {
      toast(err.message, true);
    }
  });
}

for (const btn of document.querySelectorAll('[data-action="sync-platform"]')) {
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    try {
      const r = await api('POST', `/api/v1/admin/lti/platforms/${encodeURIComponent(btn.dataset.id)}/sync`);
      toast(`Rosters synced: ${r.synced}, failed: ${r.failed}.`, r.failed > 0);
      setTimeout(() => location.reload(), 1500);
    } catch (err) {
      toast(err.message, true);
      btn.disabled = false;
    }
  });
}

const rotate = document.getElementById('rotate-key');
rotate?.addEventListener('click', async () => {
  rotate.disabled = true;
  const status = document.getElementById('rotate-status');
  try {
    const r = await api('POST', '/api/v1/admin/lti/keys/rotate');
    status.textContent = `New signing key ${r.current_kid}. The previous key stays published for an hour, until what it signed has expired.`;
    status.hidden = false;
  } catch (err) {
    toast(err.message, true);
  } finally {
    rotate.disabled = false;
  }
});
