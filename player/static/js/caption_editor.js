// caption_editor.js — the caption editor's list of cues: one row per cue
// (play from it, start, end, text), the selected cue and the cues playing
// now, the operations on them (add, set a time, split, merge, delete,
// shift) and undo. It never talks to the server: captions.js loads and
// saves, and hears of every change through onChange.
//
// Keyboard: the list is one tab stop (the selected row, or the first);
// ↑/↓, Home and End move between rows, Enter edits the text, Esc goes back
// to the row. The fields of a row are in the tab order only while it is
// selected, so that a long list does not cost hundreds of tab presses.
import { el } from './api.js';
import {
  cueProblem, currentKeys, formatTime, mergeCues, newCue, parseTime, shiftCues, splitCue, timeError,
} from './caption_cues.js';

const UNDO_LIMIT = 100;

export class CueEditor {
  /**
   * list is the <ol> the rows go in; durationMS() gives the video's
   * length (0 when unknown); announce(text) speaks to screen readers;
   * onChange() runs after every change of the cues; onSelect() after the
   * selection moves; onPlay(ms) plays from ms.
   */
  constructor({ list, durationMS, announce, onChange, onSelect, onPlay }) {
    Object.assign(this, { list, durationMS, announce, onChange, onSelect, onPlay });
    this.cues = [];
    this.sel = -1;
    this.undoStack = [];
    // Typed times that are not times yet, by "key:start" or "key:end".
    this.badTimes = new Map();
    // After a refused save, rows also say when their text is empty.
    this.checked = false;
    this.current = new Set();
    // Where the caret was in the selected cue's text, for split.
    this.caret = { key: '', pos: -1 };
    this.typingKey = '';
    // The row where Enter went down (see onKey).
    this.enterOn = '';
    this.bind();
  }

  /** setCues replaces every cue (a load, an upload, a restore); undo starts over. */
  setCues(cues) {
    this.cues = cues;
    this.undoStack = [];
    this.badTimes.clear();
    this.checked = false;
    this.sel = cues.length ? 0 : -1;
    this.render();
    this.onSelect();
  }

  get selected() { return this.cues[this.sel] || null; }

  get canUndo() { return this.undoStack.length > 0; }

  get undoLabel() { return this.undoStack.at(-1)?.label || ''; }

  // ---- changes and undo ----

  /** change records what the cues were, for undo, then runs fn. */
  change(label, fn, { render = true } = {}) {
    this.undoStack.push({ label, cues: this.cues.map((c) => ({ ...c })), sel: this.sel });
    if (this.undoStack.length > UNDO_LIMIT) this.undoStack.shift();
    fn();
    if (render) this.render();
    this.onChange();
  }

  undo() {
    const last = this.undoStack.pop();
    if (!last) return;
    this.cues = last.cues;
    this.sel = Math.min(last.sel, this.cues.length - 1);
    this.badTimes.clear();
    this.typingKey = '';
    this.render();
    this.focusRow(this.sel);
    this.onChange();
    this.announce(`Undone: ${last.label}.`);
  }

  // ---- operations ----

  /** addAt adds an empty cue at ms (2 s long, less before the next cue) and puts the caret in it. */
  addAt(ms) {
    const d = this.durationMS();
    const at = Math.max(0, Math.round(ms));
    if (d > 0 && at >= d - 100) return 'The video is at its end: go back to where the cue starts.';
    let i = this.cues.findIndex((c) => c.start_ms > at);
    if (i < 0) i = this.cues.length;
    let end = at + 2000;
    const next = this.cues[i];
    if (next && next.start_ms - at >= 500) end = Math.min(end, next.start_ms);
    if (d > 0) end = Math.min(end, d);
    const c = newCue(at, end);
    this.change(`Add cue ${i + 1} at ${formatTime(at)}`, () => { this.cues.splice(i, 0, c); this.sel = i; });
    this.focusField(i, 'text');
    this.announce(`Added cue ${i + 1} at ${formatTime(at)}. Type its text.`);
    return '';
  }

  /** setTime sets the start or end of the selected cue to ms. */
  setTime(field, ms) {
    const c = this.selected;
    if (!c) return 'Select a cue first.';
    const prop = field === 'start' ? 'start_ms' : 'end_ms';
    const n = this.sel + 1;
    this.badTimes.delete(`${c.key}:${field}`);
    this.change(`Set the ${field} of cue ${n} to ${formatTime(ms)}`, () => { c[prop] = Math.round(ms); }, { render: false });
    this.updateRow(this.sel, { times: true });
    this.announce(`Cue ${n} now ${field === 'start' ? 'starts' : 'ends'} at ${formatTime(ms)}.`);
    return '';
  }

  /** split cuts the selected cue at ms (see splitCue). */
  split(ms) {
    const c = this.selected;
    if (!c) return 'Select a cue first.';
    const i = this.sel;
    const caret = this.caret.key === c.key ? this.caret.pos : -1;
    const r = splitCue(c, i + 1, ms, caret);
    if (r.error) return r.error;
    this.change(`Split cue ${i + 1}`, () => { this.cues.splice(i, 1, r.first, r.second); this.sel = i + 1; });
    this.caret = { key: '', pos: -1 };
    this.focusRow(i + 1);
    this.announce(`Split cue ${i + 1} at ${formatTime(r.at)}${r.middle ? ', its middle (the video is not inside the cue)' : ''}. Cue ${i + 2} is the second part.`);
    return '';
  }

  /** mergeNext joins the selected cue with the one after it. */
  mergeNext() {
    const i = this.sel;
    if (i < 0) return 'Select a cue first.';
    if (i >= this.cues.length - 1) return `Cue ${i + 1} is the last one: there is no next cue to merge it with.`;
    this.change(`Merge cue ${i + 1} with cue ${i + 2}`, () => {
      this.cues.splice(i, 2, mergeCues(this.cues[i], this.cues[i + 1]));
    });
    this.focusRow(i);
    this.announce(`Merged cue ${i + 1} with the next one.`);
    return '';
  }

  /** remove deletes the selected cue. */
  remove() {
    const i = this.sel;
    if (i < 0) return 'Select a cue first.';
    this.change(`Delete cue ${i + 1}`, () => {
      this.cues.splice(i, 1);
      this.sel = Math.min(i, this.cues.length - 1);
    });
    if (this.sel >= 0) this.focusRow(this.sel);
    this.announce(`Deleted cue ${i + 1}. Undo brings it back.`);
    return '';
  }

  /** shift moves all cues, or those from the selected one on, by delta ms. */
  shift(delta, scope) {
    if (!this.cues.length) return 'There are no cues to shift.';
    let from = 0;
    if (scope === 'from') {
      if (this.sel < 0) return 'Select the cue the shift starts from.';
      from = this.sel;
    }
    const r = shiftCues(this.cues, from, delta);
    if (r.error) return r.error;
    const which = from === 0 ? `all ${this.cues.length} cues` : `cues ${from + 1} to ${this.cues.length}`;
    const how = `${Math.abs(delta)} ms ${delta > 0 ? 'later' : 'earlier'}`;
    this.change(`Shift ${which} ${how}`, () => { this.cues = r.cues; });
    this.announce(`Shifted ${which} ${how}.`);
    return '';
  }

  // ---- checks ----

  /** problems lists what must be fixed before saving: { i, field, message }. */
  problems() {
    const out = [];
    this.cues.forEach((c, i) => {
      for (const f of ['start', 'end']) {
        const bad = this.badTimes.get(`${c.key}:${f}`);
        if (bad) out.push({ i, field: f, message: `Cue ${i + 1}: ${bad.message}` });
      }
      const p = cueProblem(c, i + 1, this.durationMS());
      if (p) out.push({ i, field: 'end', message: p });
      if (!c.text.trim()) out.push({ i, field: 'text', message: `Cue ${i + 1} has no text: type its words, or delete it.` });
    });
    return out;
  }

  /** showProblems marks every row with a problem and moves to the first. */
  showProblems(list) {
    this.checked = true;
    this.render();
    if (list.length) {
      this.sel = list[0].i;
      this.render();
      this.focusField(list[0].i, list[0].field);
    }
  }

  /** rowProblem is the sentence a row shows under its fields, or ''. */
  rowProblem(i) {
    const c = this.cues[i];
    const parts = [];
    for (const f of ['start', 'end']) {
      const bad = this.badTimes.get(`${c.key}:${f}`);
      if (bad) parts.push(`${f === 'start' ? 'Start' : 'End'}: ${bad.message}`);
    }
    const p = cueProblem(c, i + 1, this.durationMS());
    if (p) parts.push(p);
    if (this.checked && !c.text.trim()) parts.push('This cue has no text: type its words, or delete it.');
    return parts.join(' ');
  }

  // ---- rendering ----

  render() {
    const focusedKey = this.list.contains(document.activeElement) ? document.activeElement.dataset.key : '';
    const focusedField = focusedKey ? document.activeElement.dataset.field || 'row' : '';
    this.rows = new Map();
    this.list.replaceChildren(...this.cues.map((c, i) => this.row(c, i)));
    this.markCurrent(this.current, true);
    if (focusedKey) {
      const i = this.cues.findIndex((c) => c.key === focusedKey);
      if (i >= 0) this.focusField(i, focusedField);
    }
  }

  row(c, i) {
    const n = i + 1;
    const sel = i === this.sel || (this.sel < 0 && i === 0);
    const tab = i === this.sel ? '0' : '-1';
    const k = c.key;
    const errID = `cue-err-${k}`;
    const time = (field) => {
      const bad = this.badTimes.get(`${k}:${field}`);
      const id = `cue-${field}-${k}`;
      return el('div', { class: 'cue-time' },
        el('label', { for: id }, field === 'start' ? 'Start' : 'End'),
        el('input', {
          id, class: 'cue-time-input', value: bad ? bad.text : formatTime(field === 'start' ? c.start_ms : c.end_ms),
          inputmode: 'decimal', autocomplete: 'off', spellcheck: 'false', tabindex: tab,
          'aria-describedby': errID, dataset: { key: k, field },
        }));
    };
    const text = el('textarea', {
      id: `cue-text-${k}`, class: 'cue-text', rows: String(Math.max(1, Math.min(4, c.text.split('\n').length))),
      tabindex: tab, 'aria-describedby': errID, dataset: { key: k, field: 'text' },
    });
    text.value = c.text;
    const row = el('div', {
      class: `cue${i === this.sel ? ' is-selected' : ''}`, role: 'group', tabindex: sel ? '0' : '-1',
      dataset: { key: k }, 'aria-label': this.rowLabel(c, n),
    },
    el('button', {
      type: 'button', class: 'cue-play', tabindex: tab, dataset: { key: k, field: 'play' },
      'aria-label': `Play cue ${n} from ${formatTime(c.start_ms)}`, title: `Play from ${formatTime(c.start_ms)}`,
    }, el('span', { class: 'cue-num' }, String(n)), el('span', { class: 'cue-play-icon', 'aria-hidden': 'true' }, '▶')),
    el('div', { class: 'cue-times' }, time('start'), time('end')),
    el('div', { class: 'cue-text-wrap' }, el('label', { for: text.id, class: 'visually-hidden' }, `Text of cue ${n}`), text),
    el('p', { class: 'cue-error', id: errID, hidden: true }));
    this.rows.set(k, row);
    this.showRowProblem(i, row);
    return el('li', {}, row);
  }

  rowLabel(c, n) {
    const text = c.text.replace(/\s+/g, ' ').trim();
    const words = text.length > 80 ? `${text.slice(0, 79)}…` : text || 'no text yet';
    return `Cue ${n}, ${formatTime(c.start_ms)} to ${formatTime(c.end_ms)}: ${words}`;
  }

  /** showRowProblem writes a row's problem and marks the fields it is about. */
  showRowProblem(i, row = this.rows.get(this.cues[i].key)) {
    const c = this.cues[i];
    const msg = this.rowProblem(i);
    const err = row.querySelector('.cue-error');
    err.textContent = msg;
    err.hidden = !msg;
    const order = cueProblem(c, i + 1, this.durationMS()) !== '';
    const mark = (field, bad) => {
      const f = row.querySelector(`[data-field="${field}"]`);
      if (bad) f.setAttribute('aria-invalid', 'true'); else f.removeAttribute('aria-invalid');
    };
    mark('start', this.badTimes.has(`${c.key}:start`));
    mark('end', this.badTimes.has(`${c.key}:end`) || order);
    mark('text', this.checked && !c.text.trim());
    row.classList.toggle('has-problem', !!msg);
  }

  /** updateRow refreshes one row after an in-place change. */
  updateRow(i, { times = false } = {}) {
    const c = this.cues[i];
    const row = this.rows.get(c.key);
    if (!row) return;
    row.setAttribute('aria-label', this.rowLabel(c, i + 1));
    const play = row.querySelector('.cue-play');
    play.setAttribute('aria-label', `Play cue ${i + 1} from ${formatTime(c.start_ms)}`);
    play.title = `Play from ${formatTime(c.start_ms)}`;
    if (times) {
      for (const f of ['start', 'end']) {
        if (!this.badTimes.has(`${c.key}:${f}`)) row.querySelector(`[data-field="${f}"]`).value = formatTime(f === 'start' ? c.start_ms : c.end_ms);
      }
    }
    this.showRowProblem(i, row);
  }

  /** select makes row i the selected one (the list's tab stop). */
  select(i) {
    if (i === this.sel || i < 0 || i >= this.cues.length) return;
    const prev = this.cues[this.sel];
    if (prev) {
      const r = this.rows.get(prev.key);
      r?.classList.remove('is-selected');
      r?.setAttribute('tabindex', '-1');
      r?.querySelectorAll('[data-field]').forEach((f) => f.setAttribute('tabindex', '-1'));
    }
    // Before the first selection the first row was the tab stop.
    this.rows.get(this.cues[0]?.key)?.setAttribute('tabindex', '-1');
    this.sel = i;
    const r = this.rows.get(this.cues[i].key);
    r.classList.add('is-selected');
    r.setAttribute('tabindex', '0');
    r.querySelectorAll('[data-field]').forEach((f) => f.setAttribute('tabindex', '0'));
    this.onSelect();
  }

  focusRow(i) {
    const c = this.cues[i];
    if (!c) return;
    this.select(i);
    this.rows.get(c.key)?.focus();
  }

  focusField(i, field) {
    const c = this.cues[i];
    if (!c) return;
    this.select(i);
    const row = this.rows.get(c.key);
    const f = field === 'row' ? row : row?.querySelector(`[data-field="${field}"]`);
    if (!f) return;
    f.focus();
    if (field === 'text') f.setSelectionRange(f.value.length, f.value.length);
  }

  /** showTime highlights the cues playing at ms (keeping them in view while playing) and returns their keys. */
  showTime(ms, playing) {
    const keys = currentKeys(this.cues, ms);
    this.markCurrent(keys, false);
    if (playing && keys.size && !this.list.contains(document.activeElement)) {
      const first = this.cues.find((c) => keys.has(c.key));
      this.keepInView(this.rows.get(first.key)?.parentElement);
    }
    return keys;
  }

  markCurrent(keys, force) {
    if (!force && keys.size === this.current.size && [...keys].every((k) => this.current.has(k))) return;
    for (const k of this.current) {
      const r = this.rows?.get(k);
      r?.classList.remove('is-current');
      r?.removeAttribute('aria-current');
    }
    this.current = keys;
    for (const k of keys) {
      const r = this.rows?.get(k);
      r?.classList.add('is-current');
      r?.setAttribute('aria-current', 'time');
    }
  }

  /** keepInView scrolls the list (never the page) so that li shows. */
  keepInView(li) {
    const list = this.list;
    if (!li || list.scrollHeight <= list.clientHeight + 1) return;
    const top = li.offsetTop;
    if (top < list.scrollTop) list.scrollTop = top - 8;
    else if (top + li.offsetHeight > list.scrollTop + list.clientHeight) list.scrollTop = top + li.offsetHeight - list.clientHeight + 8;
  }

  // ---- events ----

  indexOf(key) { return this.cues.findIndex((c) => c.key === key); }

  bind() {
    const list = this.list;
    list.addEventListener('focusin', (e) => {
      const row = e.target.closest('.cue');
      if (row) this.select(this.indexOf(row.dataset.key));
    });
    list.addEventListener('click', (e) => {
      const play = e.target.closest('.cue-play');
      if (play) {
        const i = this.indexOf(play.dataset.key);
        this.select(i);
        this.onPlay(this.cues[i].start_ms);
      }
    });
    list.addEventListener('input', (e) => {
      if (e.target.dataset.field === 'text') this.typeText(e.target);
    });
    list.addEventListener('change', (e) => {
      const f = e.target.dataset.field;
      if (f === 'start' || f === 'end') this.commitTime(e.target);
    });
    list.addEventListener('focusout', (e) => {
      if (e.target.dataset.field === 'text') {
        this.caret = { key: e.target.dataset.key, pos: e.target.selectionStart };
        this.typingKey = '';
      }
    });
    list.addEventListener('keydown', (e) => this.onKey(e));
    list.addEventListener('keyup', (e) => {
      const t = e.target;
      if (e.key === 'Enter' && t.classList.contains('cue') && this.enterOn === t.dataset.key) this.focusField(this.indexOf(t.dataset.key), 'text');
      this.enterOn = '';
    });
  }

  /** typeText takes a keystroke in a cue's text; a burst of typing is one undo step. */
  typeText(area) {
    const i = this.indexOf(area.dataset.key);
    const c = this.cues[i];
    const apply = () => { c.text = area.value; c.vtt = null; };
    if (this.typingKey !== c.key) {
      this.typingKey = c.key;
      this.change(`Edit the text of cue ${i + 1}`, apply, { render: false });
    } else {
      apply();
      this.onChange();
    }
    area.rows = Math.max(1, Math.min(4, area.value.split('\n').length));
    this.rows.get(c.key)?.setAttribute('aria-label', this.rowLabel(c, i + 1));
    if (this.checked) this.showRowProblem(i);
  }

  /** commitTime applies a typed start or end, or shows why it is not a time. */
  commitTime(input) {
    const i = this.indexOf(input.dataset.key);
    if (i < 0) return;
    const c = this.cues[i];
    const field = input.dataset.field;
    const id = `${c.key}:${field}`;
    const message = timeError(input.value);
    if (message) {
      this.badTimes.set(id, { text: input.value, message });
      this.showRowProblem(i);
      this.onChange();
      return;
    }
    const had = this.badTimes.delete(id);
    const ms = parseTime(input.value);
    const prop = field === 'start' ? 'start_ms' : 'end_ms';
    input.value = formatTime(ms);
    if (c[prop] !== ms) {
      this.change(`Set the ${field} of cue ${i + 1} to ${formatTime(ms)}`, () => { c[prop] = ms; }, { render: false });
    } else if (had) {
      this.onChange();
    }
    this.updateRow(i);
  }

  onKey(e) {
    const t = e.target;
    if (t.classList.contains('cue')) {
      const i = this.indexOf(t.dataset.key);
      const to = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: this.cues.length - 1 }[e.key];
      if (to !== undefined) {
        e.preventDefault();
        this.focusRow(Math.max(0, Math.min(this.cues.length - 1, to)));
      } else if (e.key === 'Enter') {
        // The text field takes over when Enter comes up, so that the
        // key's own newline is not typed into it.
        e.preventDefault();
        this.enterOn = t.dataset.key;
      }
      return;
    }
    if (e.key === 'Escape' && t.dataset.field) {
      e.preventDefault();
      this.focusRow(this.indexOf(t.dataset.key));
    } else if (e.key === 'Enter' && (t.dataset.field === 'start' || t.dataset.field === 'end')) {
      e.preventDefault();
      this.commitTime(t);
    }
  }
}
