// course.js — the course page: new lesson form, my completion ticks, and
// (for teachers) each lesson's processing state, kept live while anything
// is queued, converting or waiting to retry, and each student's progress
// per lesson.
import './common.js';
import './copy.js';
import { api, bindForm, clock, el, pageData, toast } from './api.js';
import { teacherSentence } from './readiness.js';
import { describeJob, isActive } from './jobstate.js';
import { initOutline } from './outline.js';
import { when } from './publish.js';
import './course_settings.js';

const data = pageData();
initOutline(data);

bindForm(document.getElementById('lesson-form'), async (f) => {
  const l = await api('POST', `/api/v1/courses/${encodeURIComponent(data.course_id)}/lessons`,
    { title: f.title, description: f.description, section_id: f.section_id || '', ...(f.publish ? { publish_at: 'now' } : {}) });
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
  const rows = document.querySelectorAll('.lesson-row[data-playable="true"]');
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

/** row is the list item of lesson id. */
function row(id) {
  return document.querySelector(`.lesson-row[data-lesson-id="${CSS.escape(id)}"]`);
}

/** watchLinks gives a row that became playable its title link and buttons. */
function watchLinks(r, l) {
  if (r.dataset.playable === 'true') return;
  r.dataset.playable = 'true';
  const href = `/watch/${encodeURIComponent(l.id)}`;
  r.querySelector('span.lesson-title')?.replaceWith(el('a', { class: 'lesson-title', href }, l.title));
  r.querySelector('.lesson-actions').append(
    el('a', { class: 'btn btn-small', href: `/lessons/${encodeURIComponent(l.id)}/analytics` }, 'Analytics'), ' ',
    el('a', { class: 'btn btn-small btn-primary', href }, 'Watch'));
  const dur = r.querySelector('[data-duration-for]');
  if (dur && l.duration_ms) {
    dur.textContent = clock(l.duration_ms);
    dur.hidden = false;
  }
}

/**
 * showState renders lesson l's processing state in its row: a badge and
 * one line, with a link to the upload page when something went wrong.
 * It returns the description, whose key says when the news changed.
 */
function showState(l) {
  const r = row(l.id);
  const slot = r?.querySelector('[data-state-for]');
  if (!slot) return null;
  const d = describeJob(l.transcode || (l.playable ? { state: 'succeeded' } : null));
  const upload = `/lessons/${encodeURIComponent(l.id)}/upload`;
  const parts = [];
  if (d.state === 'failed' || d.state === 'canceled') {
    parts.push(el('span', { class: `badge badge-${d.state}` }, d.badge, el('span', { class: 'visually-hidden' }, ':')),
      el('span', { class: 'state-line' }, l.transcode?.error || (d.state === 'failed' ? 'the recording could not be converted' : '')),
      el('a', { class: 'state-link', href: upload }, 'What to do'));
  } else if (d.state === 'succeeded') {
    // A lesson that plays needs no words; its Watch button says it.
  } else if (d.state === 'running') {
    parts.push(el('span', { class: 'badge badge-running' }, d.short),
      el('span', { class: 'minibar', 'aria-hidden': 'true' }, el('span', { style: `width:${d.percent}%` })));
  } else {
    parts.push(el('span', { class: `badge badge-${d.state}` }, d.short));
  }
  if (l.playable && d.state !== 'succeeded') {
    // A long recording published chunk by chunk plays already: say how much.
    parts.push(el('span', { class: 'small' }, teacherSentence(l) || '(students watch the previous recording)'));
  }
  slot.replaceChildren(...parts);
  if (l.playable) watchLinks(r, l);
  return d;
}

/**
 * followStates renders every lesson's state from the page's JSON, then
 * asks again every 3 s while any job is queued, running or retrying, and
 * tells screen readers when a lesson's state changes (not its percent).
 */
async function followStates(lessons) {
  const live = document.getElementById('lesson-states-live');
  const keys = new Map();
  for (;;) {
    let moving = false;
    for (const l of lessons) {
      const d = showState(l);
      if (!d) continue;
      moving ||= d.active;
      const was = keys.get(l.id);
      if (was !== undefined && was !== d.key) live.textContent = `${l.title}: ${d.short}`;
      keys.set(l.id, d.key);
    }
    if (!moving) return;
    await new Promise((r) => setTimeout(r, 3000));
    try {
      ({ lessons } = await api('GET', `/api/v1/courses/${encodeURIComponent(data.course_id)}/lessons`));
    } catch { /* keep the last state shown and try again */ }
  }
}

if (data.teaching && data.lessons) followStates(data.lessons);

/** showPublication badges a teacher's draft and scheduled lessons. */
function showPublication(l) {
  const p = l.publication;
  const meta = row(l.id)?.querySelector('.meta');
  if (!p || !meta || p.state === 'published') return;
  const text = p.state === 'draft' ? 'Draft'
    : `Scheduled for ${when(p.publish_at, Intl.DateTimeFormat().resolvedOptions().timeZone)}`;
  meta.prepend(el('span', { class: `badge badge-${p.state}`, dataset: { publicationFor: l.id } }, text), ' ');
}
if (data.teaching) (data.lessons || []).forEach(showPublication);

// ---- Members ------------------------------------------------------------
// Kept apart from the lesson rows above. Teachers see the course's members
// (GET /api/v1/courses/{id}/members) and remove them; a student leaves the
// course. Both ask first, and both take effect at once on the server.

const ROLE_LABEL = { teacher: 'Teacher', ta: 'Teaching assistant', student: 'Student' };
const ROLE_WITH_ARTICLE = { teacher: 'a teacher', ta: 'a teaching assistant', student: 'a student' };
const memberRows = document.getElementById('member-rows');
const courseTitle = document.querySelector('h1')?.textContent.trim() || 'this course';

/** showMemberCount says how many people the list holds. */
function showMemberCount() {
  const n = memberRows.querySelectorAll('tr[data-member-id]').length;
  document.getElementById('members-count').textContent = n === 1 ? '1 person' : `${n} people`;
}

/** memberRow is one member's row, with a Remove button when they may be removed. */
function memberRow(m) {
  const joined = new Date(m.joined_at).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric' });
  let role = el('span', { class: 'badge badge-role' }, ROLE_LABEL[m.role] || m.role);
  if (!m.owner) {
    role = el('select', { class: 'member-role', 'aria-label': `Role of ${m.name || m.email}` },
      ...Object.entries(ROLE_LABEL).map(([value, label]) => el('option', { value }, label)));
    role.value = m.role;
    role.addEventListener('change', () => changeRole(m, role));
  }
  const action = m.removable
    ? el('button', { type: 'button', class: 'btn btn-small btn-danger', 'aria-label': `Remove ${m.name}` }, 'Remove')
    : el('span', { class: 'muted small' }, m.owner ? 'Created the course' : 'Last teacher');
  const row = el('tr', { dataset: { memberId: m.user_id } },
    el('th', { scope: 'row' }, el('span', { class: 'person' }, m.name), el('span', { class: 'muted small' }, m.email)),
    el('td', { 'data-label': 'Role' }, role),
    el('td', { class: 'small muted', 'data-label': 'Joined' }, joined),
    el('td', { class: 'member-action' }, action));
  if (m.removable) action.addEventListener('click', () => removeMember(m, row, action));
  return row;
}

async function loadMembers() {
  try {
    const { members } = await api('GET', `/api/v1/courses/${encodeURIComponent(data.course_id)}/members`);
    memberRows.replaceChildren(...members.map(memberRow));
    showMemberCount();
  } catch (err) {
    memberRows.replaceChildren(el('tr', {}, el('td', { colspan: '4', class: 'muted' }, `The members could not be loaded: ${err.message}`)));
  }
}

/** removeMember asks, removes m from the course, and takes their rows off the page. */
async function removeMember(m, row, button) {
  if (!confirm(`Remove ${m.name} (${m.email}) from ${courseTitle}? They lose access to its lessons at once, including a video they have open. They can join again with the join code.`)) return;
  button.disabled = true;
  try {
    await api('DELETE', `/api/v1/courses/${encodeURIComponent(data.course_id)}/members/${encodeURIComponent(m.user_id)}`);
  } catch (err) {
    toast(err.message, true);
    button.disabled = false;
    return;
  }
  // Focus goes to the next Remove button, or to the heading, never to nothing.
  const rows = [...memberRows.querySelectorAll('tr[data-member-id]')];
  const next = rows.slice(rows.indexOf(row) + 1).map((r) => r.querySelector('button')).find(Boolean);
  row.remove();
  document.querySelector(`#student-progress tr[data-user-id="${CSS.escape(m.user_id)}"]`)?.remove();
  showMemberCount();
  (next || document.getElementById('members-heading')).focus();
  toast(`${m.name} was removed from the course.`);
}

/** changeRole gives m the role chosen in select, or puts the select back. */
async function changeRole(m, select) {
  select.disabled = true;
  try {
    await api('PATCH', `/api/v1/courses/${encodeURIComponent(data.course_id)}/members/${encodeURIComponent(m.user_id)}`, { role: select.value });
    m.role = select.value;
    toast(`${m.name || m.email} is now ${ROLE_WITH_ARTICLE[m.role]}.`);
    await loadMembers();
    memberRows.querySelector(`tr[data-member-id="${CSS.escape(m.user_id)}"] select`)?.focus();
  } catch (err) {
    select.value = m.role;
    select.disabled = false;
    toast(err.message, true);
  }
}

bindForm(document.getElementById('member-add-form'), async (f) => {
  if (!f.email || !f.email.trim()) throw new Error('Enter an email address.');
  const res = await api('POST', `/api/v1/courses/${encodeURIComponent(data.course_id)}/members`, { email: f.email, role: f.role });
  document.getElementById('member-email').value = '';
  toast(res.message);
  if (!res.invited) await loadMembers();
});

const rotate = document.getElementById('join-code-rotate');
rotate?.addEventListener('click', async () => {
  if (!confirm('Make a new join code? The current code and join link stop working at once; people already in the course stay.')) return;
  rotate.disabled = true;
  try {
    const res = await api('POST', `/api/v1/courses/${encodeURIComponent(data.course_id)}/join-code`);
    document.getElementById('join-code-value').textContent = res.join_code;
    const link = document.getElementById('join-link');
    link.href = res.join_path;
    link.textContent = res.join_path;
    toast('The course has a new join code. The old one no longer works.');
  } catch (err) {
    toast(err.message, true);
  } finally {
    rotate.disabled = false;
  }
});

if (memberRows) loadMembers();

const leaveButton = document.getElementById('leave-course');
leaveButton?.addEventListener('click', async () => {
  if (!confirm(`Leave ${courseTitle}? Its lessons leave your list at once. To come back you will need the join code again.`)) return;
  leaveButton.disabled = true;
  try {
    await api('DELETE', `/api/v1/courses/${encodeURIComponent(data.course_id)}/membership`);
    location.assign('/courses');
  } catch (err) {
    toast(err.message, true);
    leaveButton.disabled = false;
  }
});

// The LMS roster (LTI): a teacher syncs it now.
const lmsSync = document.getElementById('lms-sync');
if (lmsSync) {
  lmsSync.addEventListener('click', async () => {
    const status = document.getElementById('lms-sync-status');
    lmsSync.disabled = true;
    status.textContent = 'Reading the roster from the LMS…';
    try {
      const r = await api('POST', `/api/v1/courses/${encodeURIComponent(data.course_id)}/lti/sync`);
      status.textContent = r.contexts.map((c) => (c.result
        ? `${c.title || c.context_id}: ${c.result.members} in the LMS course, ${c.result.added} joined, ${c.result.removed} removed.`
        : `${c.title || c.context_id}: ${c.error}`)).join(' ') + ' Reload the page to see the members.';
    } catch (err) {
      status.textContent = err.message;
    } finally {
      lmsSync.disabled = false;
    }
  });
}
