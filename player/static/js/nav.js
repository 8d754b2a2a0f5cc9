// nav.js — the navigation's counts: the open questions in a teacher's
// inbox and the unread answers to someone's own questions. The page is
// rendered with them; this keeps them fresh: every minute while the page
// is visible, as soon as it is visible again, and at once when the page
// says something changed them (an answer posted, a live event).
import { api } from './api.js';

const POLL_MS = 60000;

/** show puts counts into the badges and tells the page's scripts. */
function show(counts) {
  for (const badge of document.querySelectorAll('[data-nav-count]')) {
    const n = counts[badge.dataset.navCount];
    if (typeof n !== 'number') continue;
    badge.querySelector('.nav-count-n').textContent = String(n);
    badge.querySelector('.visually-hidden').textContent = `, ${n} ${n === 1 ? badge.dataset.singular : badge.dataset.plural}`;
    badge.hidden = n === 0;
  }
  document.dispatchEvent(new CustomEvent('lectern:counts', { detail: counts }));
}

/**
 * refreshCounts asks the server for the counts and shows them; it
 * resolves to the counts, or null when there is no navigation (logged
 * out) or the server could not be reached.
 */
export async function refreshCounts() {
  if (!document.querySelector('[data-nav-count]')) return null;
  try {
    const counts = await api('GET', '/api/v1/me/counts', undefined, { noRedirect: true });
    show(counts);
    return counts;
  } catch {
    return null;
  }
}

if (document.querySelector('[data-nav-count]')) {
  setInterval(() => { if (document.visibilityState === 'visible') refreshCounts(); }, POLL_MS);
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') refreshCounts(); });
  // Scripts that see counts change (a live event, a posted answer) say so.
  let timer;
  document.addEventListener('lectern:changed', () => { clearTimeout(timer); timer = setTimeout(refreshCounts, 300); });
}
