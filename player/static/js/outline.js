// outline.js — the course page's order, for teachers: lessons move by
// drag and drop or by keyboard (a lesson's Move button, then the arrow
// keys; or Alt with an arrow key at once), across sections; sections are
// added, renamed, moved up and down and deleted. Every change is saved
// with PUT /api/v1/courses/{id}/outline from the order on the page, one
// save at a time, each from the version the previous one returned; a
// conflict (someone else changed the order) reloads the page.
import { api, announce, bindForm, el, toast } from './api.js';

export function initOutline(data) {
  const root = document.getElementById('outline');
  if (!root || !data.editing) return;
  const live = document.getElementById('outline-live');
  const base = `/api/v1/courses/${encodeURIComponent(data.course_id)}`;
  let version = data.outline_version;
  let saving = Promise.resolve();

  const lists = () => [...root.querySelectorAll('ol.lesson-list')];
  const rows = () => [...root.querySelectorAll('.lesson-row')];
  const groupName = (ol) => {
    const g = ol.closest('.lesson-group');
    return g.dataset.sectionId ? g.querySelector('.section-title').textContent.trim()
      : (root.querySelector('.lesson-group[data-section-id]:not([data-section-id=""])') ? 'Not in a section' : 'the course');
  };

  /** outline reads the order shown on the page. */
  function outline() {
    const o = { version, unsectioned: [], sections: [] };
    for (const g of root.querySelectorAll('.lesson-group')) {
      const ids = [...g.querySelectorAll('.lesson-row')].map((r) => r.dataset.lessonId);
      if (g.dataset.sectionId) o.sections.push({ id: g.dataset.sectionId, lesson_ids: ids });
      else o.unsectioned = ids;
    }
    return o;
  }

  function renumber() {
    rows().forEach((r, i) => { r.querySelector('.lesson-num').textContent = String(i + 1); });
  }

  /** save sends the page's order; saves run one after another. */
  function save() {
    renumber();
    saving = saving.then(async () => {
      try {
        const o = await api('PUT', `${base}/outline`, outline());
        version = o.version;
      } catch (err) {
        toast(err.status === 409
          ? 'Someone else changed the order of this course meanwhile. The page shows the order now saved.'
          : `The new order was not saved: ${err.message}`, true);
        setTimeout(() => location.reload(), 1500);
      }
    });
    return saving;
  }

  /** said tells where lesson row r now is. */
  function said(r) {
    const ol = r.closest('ol');
    const pos = [...ol.children].indexOf(r) + 1;
    announce(live, `${r.dataset.title} moved to position ${pos} of ${ol.children.length} in ${groupName(ol)}.`);
  }

  /**
   * step moves row r one place up (-1) or down (+1), into the end of the
   * section before or the start of the one after at a section's edge. It
   * returns false when r is already first or last.
   */
  function step(r, dir) {
    const sib = dir < 0 ? r.previousElementSibling : r.nextElementSibling;
    if (sib) {
      if (dir < 0) sib.before(r); else sib.after(r);
      return true;
    }
    const all = lists();
    const next = all[all.indexOf(r.closest('ol')) + dir];
    if (!next) return false;
    if (dir < 0) next.append(r); else next.prepend(r);
    return true;
  }

  function move(r, dir) {
    if (!step(r, dir)) {
      announce(live, `${r.dataset.title} is already ${dir < 0 ? 'first' : 'last'}.`);
      return;
    }
    r.querySelector('[data-move]').focus();
    said(r);
    save();
  }

  // Keyboard: Move picks the lesson up (aria-pressed), arrows move it,
  // Escape, leaving it, or Move again (Enter) put it down. Alt+arrows move at once.
  root.addEventListener('click', (ev) => {
    const b = ev.target.closest('[data-move]');
    if (!b) return;
    const on = b.getAttribute('aria-pressed') !== 'true';
    for (const other of root.querySelectorAll('[data-move][aria-pressed="true"]')) other.setAttribute('aria-pressed', 'false');
    b.setAttribute('aria-pressed', String(on));
    b.closest('.lesson-row').classList.toggle('is-moving', on);
    const r = b.closest('.lesson-row');
    announce(live, on ? `${r.dataset.title} picked up. Use the up and down arrow keys to move it, Enter to put it down.`
      : `${r.dataset.title} put down at position ${[...r.parentElement.children].indexOf(r) + 1} in ${groupName(r.parentElement)}.`);
  });
  root.addEventListener('keydown', (ev) => {
    const b = ev.target.closest?.('[data-move]');
    if (!b) return;
    const r = b.closest('.lesson-row');
    const held = b.getAttribute('aria-pressed') === 'true';
    const dir = ev.key === 'ArrowUp' ? -1 : ev.key === 'ArrowDown' ? 1 : 0;
    if (dir && (held || ev.altKey)) {
      ev.preventDefault();
      move(r, dir);
    } else if (held && ev.key === 'Escape') {
      ev.preventDefault();
      b.click();
    }
  });
  root.addEventListener('focusout', (ev) => {
    const b = ev.target.closest?.('[data-move][aria-pressed="true"]');
    if (b && !b.contains(ev.relatedTarget) && ev.relatedTarget !== null) {
      b.setAttribute('aria-pressed', 'false');
      b.closest('.lesson-row').classList.remove('is-moving');
    }
  });

  // Drag and drop: a row dropped over another goes before or after it
  // (whichever half it is over); over a list's empty space, at its end.
  let dragged = null;
  root.addEventListener('dragstart', (ev) => {
    dragged = ev.target.closest?.('.lesson-row');
    if (!dragged) return;
    ev.dataTransfer.effectAllowed = 'move';
    ev.dataTransfer.setData('text/plain', dragged.dataset.lessonId);
    dragged.classList.add('is-dragging');
  });
  root.addEventListener('dragover', (ev) => {
    if (!dragged) return;
    const ol = ev.target.closest('ol.lesson-list');
    if (!ol) return;
    ev.preventDefault();
    const over = ev.target.closest('.lesson-row');
    if (over === dragged) return;
    if (!over) {
      if (dragged.parentElement !== ol || ol.lastElementChild !== dragged) ol.append(dragged);
      return;
    }
    const box = over.getBoundingClientRect();
    if (ev.clientY < box.top + box.height / 2) over.before(dragged); else over.after(dragged);
  });
  root.addEventListener('dragend', () => {
    if (!dragged) return;
    const r = dragged;
    dragged = null;
    r.classList.remove('is-dragging');
    said(r);
    save();
  });

  // Sections.
  bindForm(document.getElementById('section-form'), async (f) => {
    await api('POST', `${base}/sections`, { title: f.title });
    location.reload();
  });
  root.addEventListener('click', async (ev) => {
    const g = ev.target.closest('.lesson-group');
    if (!g || !g.dataset.sectionId) return;
    const title = g.querySelector('.section-title').textContent.trim();
    const path = `${base}/sections/${encodeURIComponent(g.dataset.sectionId)}`;
    try {
      if (ev.target.closest('[data-section-up], [data-section-down]')) {
        const up = !!ev.target.closest('[data-section-up]');
        const sib = up ? g.previousElementSibling : g.nextElementSibling;
        if (!sib || !sib.dataset.sectionId) {
          announce(live, `Section ${title} is already ${up ? 'first' : 'last'}.`);
          return;
        }
        if (up) sib.before(g); else sib.after(g);
        ev.target.closest('button').focus();
        const pos = [...root.querySelectorAll('.lesson-group')].filter((x) => x.dataset.sectionId).indexOf(g) + 1;
        announce(live, `Section ${title} moved to position ${pos}.`);
        await save();
      } else if (ev.target.closest('[data-section-delete]')) {
        const n = g.querySelectorAll('.lesson-row').length;
        if (!confirm(n ? `Delete the section "${title}"? Its ${n} lesson${n === 1 ? '' : 's'} will stay in the course, under "Not in a section".`
          : `Delete the section "${title}"?`)) return;
        await api('DELETE', path);
        location.reload();
      } else if (ev.target.closest('[data-section-rename]')) {
        renameForm(g, title, path);
      }
    } catch (err) {
      toast(err.message, true);
    }
  });

  /** renameForm swaps a section's title for a small form. */
  function renameForm(g, title, path) {
    const row = g.querySelector('.section-title-row');
    const input = el('input', { id: `rename-${g.dataset.sectionId}`, value: title, maxlength: '200', required: '' });
    const form = el('form', { class: 'inline-form', novalidate: '' },
      el('label', { for: input.id, class: 'visually-hidden' }, `New title for section ${title}`), input,
      el('button', { class: 'btn btn-small btn-primary', type: 'submit' }, 'Save'),
      el('button', { class: 'btn btn-small', type: 'button', 'data-cancel': '' }, 'Cancel'),
      el('p', { class: 'form-error', role: 'alert', hidden: '' }));
    row.hidden = true;
    row.after(form);
    input.focus();
    input.select();
    const done = () => { form.remove(); row.hidden = false; row.querySelector('[data-section-rename]').focus(); };
    form.querySelector('[data-cancel]').addEventListener('click', done);
    bindForm(form, async (f) => {
      const s = await api('PATCH', path, { title: input.value });
      row.querySelector('.section-title').textContent = s.title;
      for (const [sel, verb] of [['[data-section-up]', 'Move section % up'], ['[data-section-down]', 'Move section % down'],
        ['[data-section-rename]', 'Rename section %'], ['[data-section-delete]', 'Delete section %']]) {
        row.querySelector(sel).setAttribute('aria-label', verb.replace('%', s.title));
      }
      done();
      announce(live, `Section renamed to ${s.title}.`);
    });
  }

  const sel = document.getElementById('lesson-section');
  if (sel) sel.selectedIndex = sel.options.length - 1;
}
