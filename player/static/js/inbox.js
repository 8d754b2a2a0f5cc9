// inbox.js — answer or resolve questions in place. The page keeps itself
// up to date without a reload: a question's status badge changes as soon
// as it is answered or resolved (here, in the lesson, or by a colleague),
// and so do the open counts per lesson and in the navigation.
import './common.js';
import { api, el, relTime, toast } from './api.js';
import { refreshCounts } from './nav.js';

for (const t of document.querySelectorAll('time.reltime')) t.textContent = relTime(t.getAttribute('datetime'));

const STATUS_LABEL = { open: 'Open', answered: 'Answered', resolved: 'Resolved' };
const tab = new URLSearchParams(location.search).get('status') || 'open';

/** setStatus shows a question's new status on its card. */
function setStatus(card, status) {
  const badge = card.querySelector('.question-status');
  if (!badge || !STATUS_LABEL[status]) return;
  badge.className = `badge badge-${status} question-status`;
  badge.textContent = STATUS_LABEL[status];
  card.dataset.status = status;
  card.classList.toggle('is-done', status !== 'open');
}

/** showLessonCounts redraws "Open by lesson" from the inbox API's lessons. */
function showLessonCounts(lessons) {
  const list = document.getElementById('lesson-counts');
  if (!list) return;
  list.replaceChildren(...lessons.map((l) => el('li', { dataset: { lessonId: l.lesson_id } },
    el('span', { class: 'count-what' },
      el('a', { href: `/watch/${encodeURIComponent(l.lesson_id)}` }, l.lesson_title), ' ',
      el('span', { class: 'muted small' }, l.course_title)),
    ' ',
    el('span', { class: 'count' },
      el('span', { 'aria-hidden': 'true' }, String(l.unanswered)),
      el('span', { class: 'visually-hidden' }, `${l.unanswered} open question${l.unanswered === 1 ? '' : 's'}`)))));
  list.hidden = lessons.length === 0;
  document.getElementById('lesson-counts-empty').hidden = lessons.length > 0;
}

/** openTotal is the sum of the per-lesson counts on the page. */
function openTotal() {
  let n = 0;
  for (const li of document.querySelectorAll('#lesson-counts > li')) n += Number(li.querySelector('.count [aria-hidden]').textContent) || 0;
  return n;
}

/**
 * refresh reads the open questions again: the per-lesson counts, and, on
 * the Open tab, the status of each card that is no longer open.
 */
async function refresh() {
  let inbox;
  try { inbox = await api('GET', '/api/v1/questions?status=open&limit=100'); } catch { return; }
  showLessonCounts(inbox.lessons || []);
  if (tab !== 'open') return;
  const open = new Set((inbox.questions || []).map((q) => q.id));
  await Promise.all([...document.querySelectorAll('.question-card')].map(async (card) => {
    if (open.has(card.dataset.id) || (card.dataset.status && card.dataset.status !== 'open')) return;
    try {
      const t = await api('GET', `/api/v1/comments/${encodeURIComponent(card.dataset.id)}`);
      if (t.comment.deleted) {
        card.classList.add('is-done');
        card.querySelector('.question-body').textContent = 'This question was deleted.';
        card.querySelector('.answer-form')?.setAttribute('hidden', '');
      } else setStatus(card, t.comment.status);
    } catch { /* gone or not ours any more */ }
  }));
}

/** changed refreshes the page's counts and the navigation's. */
function changed() {
  refresh();
  refreshCounts();
}

// The navigation polls the counts; when the open total differs from what
// the page shows, something happened elsewhere.
document.addEventListener('lectern:counts', (e) => {
  if (typeof e.detail?.open_questions === 'number' && e.detail.open_questions !== openTotal()) refresh();
});

for (const card of document.querySelectorAll('.question-card')) {
  const form = card.querySelector('.answer-form');
  if (!form) continue;
  const id = card.dataset.id;
  const lesson = card.dataset.lessonId;
  const err = form.querySelector('.form-error');
  const done = (msg, status) => {
    form.hidden = true;
    const note = card.querySelector('.answered-note');
    note.textContent = msg;
    note.hidden = false;
    setStatus(card, status);
    changed();
  };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = form.elements.body.value.trim();
    if (!body) { err.textContent = 'Write your answer first.'; err.hidden = false; return; }
    err.hidden = true;
    const btn = form.querySelector('[type=submit]');
    btn.disabled = true;
    try {
      await api('POST', `/api/v1/lessons/${encodeURIComponent(lesson)}/comments`, { parent_id: id, body });
      // A teacher's reply answers an open question; other statuses stay.
      done('Answered. The student sees it in the lesson.', card.dataset.status === 'open' ? 'answered' : card.dataset.status);
      toast('Answer posted.');
    } catch (ex) {
      err.textContent = ex.message;
      err.hidden = false;
    } finally {
      btn.disabled = false;
    }
  });
  form.querySelector('[data-action=resolve]').addEventListener('click', async () => {
    try {
      await api('PATCH', `/api/v1/comments/${encodeURIComponent(id)}`, { status: 'resolved' });
      done('Marked resolved.', 'resolved');
    } catch (ex) { toast(ex.message, true); }
  });
}
