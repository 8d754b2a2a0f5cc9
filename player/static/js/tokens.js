// tokens.js — the API tokens page: create a token (its secret shown once,
// with a copy button), and revoke one after a confirmation.
import './common.js';
import './copy.js';
import { api, bindForm, el, toast } from './api.js';

const rows = document.getElementById('token-rows');
const table = document.getElementById('token-table');
const empty = document.getElementById('token-empty');
const form = document.getElementById('token-form');
const secretBox = document.getElementById('token-secret-box');

const dateFmt = { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' };
const fmtDate = (iso) => new Date(iso).toLocaleDateString('en-GB', dateFmt);

/** showEmpty shows the table, or the empty state when no token is left. */
function showEmpty() {
  const none = rows.children.length === 0;
  table.hidden = none;
  empty.hidden = !none;
}

/** revokeButton is the Revoke button of a token's row. */
function revokeButton(id, name) {
  return el('button', { type: 'button', class: 'btn btn-small btn-danger', dataset: { revoke: id, name } }, 'Revoke');
}

/** tokenRow builds the row of a token just created. */
function tokenRow(t) {
  const expires = t.expires_at ? fmtDate(t.expires_at) : el('span', { class: 'muted' }, 'Never');
  return el('tr', { class: 'is-new', dataset: { tokenId: t.id } },
    el('th', { scope: 'row' }, t.name),
    el('td', { class: 'small muted', 'data-label': 'Created' }, fmtDate(t.created_at)),
    el('td', { class: 'small muted', 'data-label': 'Last used' }, 'Never'),
    el('td', { class: 'small', 'data-label': 'Expires' }, expires),
    el('td', {}, revokeButton(t.id, t.name)));
}

bindForm(form, async (f) => {
  const body = { name: f.name };
  if (f.expires_in_days) body.expires_in_days = Number(f.expires_in_days);
  const t = await api('POST', '/api/v1/tokens', body);
  for (const tr of rows.querySelectorAll('tr.is-new')) tr.classList.remove('is-new');
  rows.prepend(tokenRow(t));
  showEmpty();
  document.getElementById('token-secret-title').textContent = `Your new token “${t.name}”`;
  document.getElementById('token-secret').textContent = t.token;
  secretBox.hidden = false;
  secretBox.scrollIntoView({ block: 'nearest' });
  form.reset();
  toast('Token created. Copy it now: it will not be shown again.');
});

rows.addEventListener('click', async (ev) => {
  const btn = ev.target.closest('[data-revoke]');
  if (!btn) return;
  const { revoke: id, name } = btn.dataset;
  if (!confirm(`Revoke the token “${name}”? Scripts using it stop working at once.`)) return;
  btn.disabled = true;
  try {
    await api('DELETE', `/api/v1/tokens/${encodeURIComponent(id)}`);
  } catch (err) {
    // Already gone (revoked in another tab): the row goes all the same.
    if (err.status !== 404) {
      toast(err.message, true);
      btn.disabled = false;
      return;
    }
  }
  btn.closest('tr').remove();
  // The secret of a token just revoked is of no use any more.
  if (secretBox && !secretBox.hidden && !rows.querySelector('tr.is-new')) secretBox.hidden = true;
  showEmpty();
  toast(`Revoked “${name}”.`);
});
