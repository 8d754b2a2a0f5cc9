// trash.js — the Trash page: restore a deleted course or lesson through
// POST /api/v1/trash/{kind}/{id}/restore, then offer a link to it.
import './common.js';
import { api, el, toast } from './api.js';

const list = document.getElementById('trash-list');
const live = document.getElementById('trash-live');

list?.addEventListener('click', async (ev) => {
  const btn = ev.target.closest('[data-restore]');
  if (!btn) return;
  const item = btn.closest('.trash-item');
  const { kind, id, title } = item.dataset;
  btn.disabled = true;
  try {
    const r = await api('POST', `/api/v1/trash/${kind}s/${encodeURIComponent(id)}/restore`);
    const href = kind === 'course' ? `/courses/${encodeURIComponent(r.id)}` : `/watch/${encodeURIComponent(r.id)}`;
    item.replaceChildren(el('p', {}, `Restored “${title}”. `, el('a', { href }, kind === 'course' ? 'Open the course' : 'Watch it')));
    item.classList.add('restored');
    live.textContent = `Restored ${title}.`;
    item.querySelector('a').focus();
  } catch (err) {
    toast(err.message, true);
    btn.disabled = false;
  }
});
