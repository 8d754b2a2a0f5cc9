// course.js — the course page: new lesson form, my completion ticks, and
// (for teachers) each student's progress per lesson.
import './common.js';
import './copy.js';
import { api, bindForm, el, pageData } from './api.js';

const data = pageData();

bindForm(document.getElementById('lesson-form'), async (f) => {
  const l = await api('POST', `/api/v1/courses/${encodeURIComponent(data.course_id)}/lessons`,
    { title: f.title, description: f.description });
  location.assign(`/lessons/${encodeURIComponent(l.id)}/upload`);
});

/** showMine puts a tick or a small bar beside each lesson I have started. */
function showMine(lessonID, p) {
  const slot = document.querySelector(`[data-progress-for="${CSS.escape(lessonID)}"]`);
  if (!slot || !p) return;
  const pct = Math.round(p.percent || 0);
  slot.replaceChildren();
  if (p.completed) {
    slot.append(el('span', { class: 'badge badge-done' }, el('span', { 'aria-hidden': 'true' }, '✓'), 'Completed'));
    slot.closest('.lesson-row')?.classList.add('is-complete');
  } else if (pct > 0) {
    slot.append(el('span', { class: 'minibar', 'aria-hidden': 'true' }, el('span', { style: `width:${pct}%` })),
      ` ${pct}% watched`);
  }
}

async function loadMine() {
  const rows = document.querySelectorAll('.lesson-row[data-status="ready"]');
  await Promise.all([...rows].map(async (row) => {
    try {
      showMine(row.dataset.lessonId, await api('GET', `/api/v1/lessons/${encodeURIComponent(row.dataset.lessonId)}/progress`));
    } catch { /* no progress yet */ }
  }));
}

/** studentsOf reads the per-student rows of a lesson's analytics. */
function studentsOf(a) {
  return (a && (a.students || a.per_student || a.viewers_detail)) || [];
}

async function loadStudents() {
  const table = document.getElementById('student-progress');
  if (!table) return;
  for (const lesson of data.ready_lessons || []) {
    let a;
    try { a = await api('GET', `/api/v1/lessons/${encodeURIComponent(lesson.id)}/analytics`); } catch { continue; }
    for (const s of studentsOf(a)) {
      const row = table.querySelector(`tr[data-user-id="${CSS.escape(s.user_id)}"]`);
      const cell = row?.querySelector(`[data-cell="${CSS.escape(lesson.id)}"]`);
      if (!cell) continue;
      const pct = Math.round(s.percent ?? 0);
      cell.replaceChildren(s.completed
        ? el('span', { class: 'tick', title: 'Completed' }, '✓ ', el('span', { class: 'visually-hidden' }, 'completed'))
        : `${pct}%`);
    }
  }
}

if (data.ready_lessons?.length) {
  loadMine();
  loadStudents();
}
