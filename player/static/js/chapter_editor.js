// chapter_editor.js — the Chapters card of a lesson's page, for its
// teachers: the lesson's chapters as rows of a start and a title (add,
// remove, save them all with PUT …/chapters), and under them the chapter
// starts the transcoder suggests where the picture changed as a slide does,
// each accepted (renamed first if need be) or discarded. Students never
// reach this page, and the suggestions' API refuses them.
import { announce, api, clock, el, parseClock } from './api.js';

const $ = (id) => document.getElementById(id);

export class ChapterEditor {
  constructor(lessonID) {
    this.lessonID = lessonID;
    this.base = `/api/v1/lessons/${encodeURIComponent(lessonID)}`;
    this.durationMS = 0;
    this.rows = 0;
    $('chapter-add').addEventListener('click', () => this.addRow({ start_ms: null, title: '' }, true));
    $('chapters-form').addEventListener('submit', (ev) => { ev.preventDefault(); this.save(); });
  }

  /**
   * show renders lesson l's chapters and fetches its suggestions, once its
   * recording has a length (chapters need one); later calls with the same
   * length keep what the teacher is typing.
   */
  show(l) {
    const duration = l.duration_ms || 0;
    if (duration === this.durationMS) return;
    this.durationMS = duration;
    $('chapters-pending').hidden = duration > 0;
    $('chapters-form').hidden = duration <= 0;
    if (duration <= 0) return;
    this.renderRows(l.chapters || []);
    this.loadSuggestions();
  }

  renderRows(chapters) {
    $('chapter-rows').replaceChildren();
    this.rows = 0;
    for (const ch of chapters) this.addRow(ch, false);
    $('chapters-empty').hidden = chapters.length > 0;
  }

  /** addRow adds a chapter row; focus moves to its start when asked. */
  addRow(ch, focus) {
    const n = ++this.rows;
    const start = el('input', { id: `chapter-start-${n}`, class: 'chapter-start', inputmode: 'numeric', autocomplete: 'off',
      value: ch.start_ms === null ? '' : clock(ch.start_ms), placeholder: 'm:ss' });
    const title = el('input', { id: `chapter-title-${n}`, class: 'chapter-title', maxlength: '200', value: ch.title });
    const row = el('li', { class: 'chapter-row' },
      el('span', { class: 'field field-time' }, el('label', { for: start.id, class: 'visually-hidden' }, 'Start'), start),
      el('span', { class: 'field chapter-title-field' }, el('label', { for: title.id, class: 'visually-hidden' }, 'Title'), title),
      el('button', { type: 'button', class: 'btn btn-quiet btn-small', 'aria-label': 'Remove this chapter',
        onclick: () => { row.remove(); $('chapter-add').focus(); } }, 'Remove'));
    $('chapter-rows').append(row);
    $('chapters-empty').hidden = true;
    if (focus) start.focus();
  }

  /** read returns the rows as the API takes them, or throws a message naming the row. */
  read() {
    return [...$('chapter-rows').children].map((row, i) => {
      const text = row.querySelector('.chapter-start').value;
      const ms = parseClock(text);
      if (Number.isNaN(ms)) throw new Error(`Chapter ${i + 1}: write its start as m:ss, for example 4:05.`);
      return { start_ms: ms, title: row.querySelector('.chapter-title').value };
    });
  }

  async save() {
    const err = $('chapters-error');
    err.hidden = true;
    try {
      const resp = await api('PUT', `${this.base}/chapters`, this.read());
      this.renderRows(resp.chapters);
      announce($('chapters-status'), `Chapters saved: ${resp.chapters.length}.`);
      this.loadSuggestions();
    } catch (e) {
      err.textContent = e.message;
      err.hidden = false;
    }
  }

  async loadSuggestions() {
    let resp;
    try {
      resp = await api('GET', `${this.base}/chapter-suggestions`);
    } catch {
      $('suggestions').hidden = true;
      return;
    }
    const list = $('suggestion-rows');
    list.replaceChildren(...resp.suggestions.map((s) => this.suggestionRow(s)));
    $('suggestions').hidden = resp.suggestions.length === 0;
  }

  suggestionRow(s) {
    const at = clock(s.start_ms);
    const title = el('input', { id: `suggestion-${s.id}`, maxlength: '200', value: s.title });
    const row = el('li', { class: 'suggestion-row' },
      el('a', { href: `/watch/${encodeURIComponent(this.lessonID)}?t=${Math.floor(s.start_ms / 1000)}`,
        'aria-label': `Watch from ${at}` }, at),
      el('span', { class: 'field chapter-title-field' },
        el('label', { for: title.id, class: 'visually-hidden' }, `Title of the chapter at ${at}`), title),
      el('button', { type: 'button', class: 'btn btn-small', onclick: () => this.accept(s, title.value, row) },
        'Add as chapter'),
      el('button', { type: 'button', class: 'btn btn-quiet btn-small', 'aria-label': `Discard the suggestion at ${at}`,
        onclick: () => this.discard(s, row) }, 'Discard'));
    return row;
  }

  async accept(s, title, row) {
    const err = $('suggestions-error');
    err.hidden = true;
    try {
      const resp = await api('POST', `${this.base}/chapter-suggestions/${encodeURIComponent(s.id)}/accept`, { title });
      this.renderRows(resp.chapters);
      this.dropRow(row);
      announce($('chapters-status'), `Chapter added at ${clock(s.start_ms)}.`);
    } catch (e) {
      err.textContent = e.message;
      err.hidden = false;
    }
  }

  async discard(s, row) {
    const err = $('suggestions-error');
    err.hidden = true;
    try {
      await api('DELETE', `${this.base}/chapter-suggestions/${encodeURIComponent(s.id)}`);
      this.dropRow(row);
      announce($('chapters-status'), `Suggestion at ${clock(s.start_ms)} discarded.`);
    } catch (e) {
      err.textContent = e.message;
      err.hidden = false;
    }
  }

  /** dropRow removes a suggestion's row, keeping the focus in the list. */
  dropRow(row) {
    const next = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    if (next) next.querySelector('input').focus();
    else {
      $('suggestions').hidden = true;
      $('chapter-add').focus();
    }
  }
}
