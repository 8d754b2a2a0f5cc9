// inbox.js — answer or resolve questions in place.
import './common.js';
import { api, relTime, toast } from './api.js';

for (const t of document.querySelectorAll('time.reltime')) t.textContent = relTime(t.getAttribute('datetime'));

for (const card of document.querySelectorAll('.question-card')) {
  const form = card.querySelector('.answer-form');
  if (!form) continue;
  const id = card.dataset.id;
  const lesson = card.dataset.lessonId;
  const err = form.querySelector('.form-error');
  const done = (msg) => {
    form.hidden = true;
    const note = card.querySelector('.answered-note');
    note.textContent = msg;
    note.hidden = false;
    card.classList.add('is-done');
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
      done('Answered. The student sees it in the lesson.');
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
      done('Marked resolved.');
    } catch (ex) { toast(ex.message, true); }
  });
}
