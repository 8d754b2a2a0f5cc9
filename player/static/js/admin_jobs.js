// admin_jobs.js — the admin's transcode jobs page: every job in words
// (queued with its place in line, converting with its percent, waiting to
// retry with the try, when and why, failed with the kind and the reason),
// Cancel for unfinished jobs, Retry only where a retry can help, and a
// refresh every 3 s while any job is unfinished. The rows are rendered
// from the same JSON as GET /api/v1/admin/jobs, first from page-data.
import './common.js';
import { api, el, pageData, toast } from './api.js';
import { FAILURE_KIND, describeJob, isActive } from './jobstate.js';

const data = pageData();
const body = document.getElementById('jobs-body');
const rows = new Map(); // job id → { tr, sig }

/** when formats an RFC 3339 time in the admin's own time zone. */
function when(iso) {
  const t = Date.parse(iso || '');
  if (Number.isNaN(t)) return '–';
  return new Date(t).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}

/** cell is a table cell; label names it on a phone, where rows become cards. */
function cell(label, attrs, ...children) {
  const empty = children.length === 1 && children[0] === '–';
  const cls = [attrs.class, empty && 'is-empty'].filter(Boolean).join(' ');
  return el('td', { 'data-label': label, ...attrs, class: cls || undefined }, el('span', { class: 'cell' }, ...children));
}

/** stateCell is the job's badge and one line saying where it stands. */
function stateCell(j, d) {
  const parts = [el('span', { class: `badge badge-${j.state}` }, d.badge)];
  if (j.state === 'running') {
    parts.push(el('span', { class: 'job-line' },
      el('span', { class: 'progress job-bar', role: 'progressbar', 'aria-label': 'Converted', 'aria-valuemin': '0',
        'aria-valuemax': '100', 'aria-valuenow': String(d.percent) }, el('span', { class: 'bar', style: `width:${d.percent}%` })),
      ` ${d.percent}%`));
  } else if (j.state === 'queued') {
    parts.push(el('span', { class: 'job-line' }, d.short.replace(/^Queued,? ?/, '') || 'waiting for a worker'));
  } else if (j.state === 'failed' && FAILURE_KIND[j.failure]) {
    parts.push(el('span', { class: 'job-line' }, FAILURE_KIND[j.failure]));
  }
  return cell('State', { class: 'job-state' }, ...parts);
}

/** whyCell says what went wrong and what to do, or what comes next. */
function whyCell(j, d) {
  const parts = [];
  if (j.state === 'retrying') parts.push(el('span', { class: 'job-why' }, d.detail));
  else if (j.error) parts.push(el('span', { class: 'job-why error-text' }, j.error));
  if (d.advice && j.state !== 'succeeded') parts.push(el('span', { class: 'job-advice muted small' }, d.advice));
  return cell('Why', { class: 'small' }, ...(parts.length ? parts : ['–']));
}

/** actions offers Cancel for unfinished jobs and Retry where it can help. */
function actions(j) {
  const out = [];
  if (isActive(j)) {
    out.push(el('button', { type: 'button', class: 'btn btn-small btn-danger', dataset: { jobAction: 'cancel', jobId: j.id } }, 'Cancel'));
  } else if ((j.state === 'failed' || j.state === 'canceled') && j.retryable) {
    out.push(el('button', { type: 'button', class: 'btn btn-small', dataset: { jobAction: 'retry', jobId: j.id } }, 'Retry'));
  } else if (j.state === 'failed') {
    out.push(el('span', { class: 'muted small' }, 'Needs a new upload'));
  }
  return cell('Actions', { class: 'job-actions' }, ...out);
}

/** renderRow is one job as a table row (a card on a phone). */
function renderRow(j) {
  const d = describeJob(j);
  const tries = j.max_tries ? `${j.try || 1} of ${j.max_tries}` : String(j.try || j.attempt || 1);
  return el('tr', { dataset: { jobId: j.id, state: j.state } },
    el('th', { scope: 'row', 'data-label': 'Lesson' },
      el('a', { href: `/lessons/${encodeURIComponent(j.lesson_id)}/upload` }, j.lesson_title),
      el('span', { class: 'muted small' }, j.course_title)),
    stateCell(j, d),
    whyCell(j, d),
    cell('Try', { class: 'num job-try' }, tries),
    cell('Teacher', { class: 'small' }, j.teacher_name || '–'),
    cell('Worker', { class: 'small' }, j.chunks
      ? `${j.chunks.done} of ${j.chunks.total} parts${j.chunks.workers.length ? ' · ' + j.chunks.workers.join(', ') : ''}`
      : (j.worker_host || '–')),
    cell('Created', { class: 'small muted' }, when(j.created_at)),
    cell('Finished', { class: 'small muted' }, j.finished_at ? when(j.finished_at) : '–'),
    actions(j));
}

/**
 * render shows jobs, replacing only the rows whose job changed, so a
 * refresh keeps the admin's place and keyboard focus. It returns whether
 * any job is unfinished.
 */
function render(jobs) {
  const focused = document.activeElement?.closest?.('[data-job-action]');
  const refocus = focused && { id: focused.dataset.jobId, action: focused.dataset.jobAction };
  const seen = new Set();
  let prev = null;
  for (const j of jobs) {
    seen.add(j.id);
    // The retry countdown changes with the clock, so its text is part of the signature.
    const sig = JSON.stringify(j) + (j.state === 'retrying' ? describeJob(j).detail : '');
    let r = rows.get(j.id);
    if (!r || r.sig !== sig) {
      const tr = renderRow(j);
      if (r) r.tr.replaceWith(tr);
      r = { tr, sig };
      rows.set(j.id, r);
    }
    const next = prev ? prev.nextSibling : body.firstChild;
    if (next !== r.tr) body.insertBefore(r.tr, next);
    prev = r.tr;
  }
  for (const [id, r] of rows) {
    if (!seen.has(id)) { r.tr.remove(); rows.delete(id); }
  }
  if (refocus) {
    body.querySelector(`[data-job-id="${CSS.escape(refocus.id)}"][data-job-action="${refocus.action}"]`)?.focus();
  }
  document.getElementById('jobs-table').hidden = jobs.length === 0;
  document.getElementById('jobs-empty').hidden = jobs.length > 0;
  return jobs.some(isActive);
}

/** refresh loads the jobs again, every 3 s while any is unfinished. */
let timer = null;
async function refresh() {
  clearTimeout(timer);
  let moving = true;
  try {
    const q = data.state ? `?state=${encodeURIComponent(data.state)}` : '';
    moving = render((await api('GET', `/api/v1/admin/jobs${q}`)).jobs);
  } catch (err) {
    document.getElementById('jobs-live').textContent = `Could not refresh the jobs: ${err.message}`;
  }
  if (moving) timer = setTimeout(refresh, 3000);
}

body.addEventListener('click', async (ev) => {
  const btn = ev.target.closest('[data-job-action]');
  if (!btn) return;
  const action = btn.dataset.jobAction;
  if (action === 'cancel' && !confirm('Cancel this transcode? The lesson will show it was canceled.')) return;
  btn.disabled = true;
  try {
    await api('POST', `/api/v1/admin/jobs/${encodeURIComponent(btn.dataset.jobId)}/${action}`);
    toast(action === 'retry' ? 'Queued again.' : 'Canceled.');
    refresh();
  } catch (err) {
    toast(err.message, true);
    btn.disabled = false;
  }
});

if (render(data.jobs || [])) timer = setTimeout(refresh, 3000);
