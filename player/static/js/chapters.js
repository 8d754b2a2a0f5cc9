// chapters.js — a lesson's chapters in the player: boundaries on the
// timeline (their titles in the timeline's preview and its spoken value),
// a chapter menu in the control bar with the current chapter checked, the
// current chapter's title beside the time, and a list under the lesson
// whose links are deep links (/watch/{id}?t=<seconds>#chapter-<n>).
import { announce, clock, el } from './api.js';

const $ = (id) => document.getElementById(id);

/** chapterLink is the deep link of chapter n (from 1) of a lesson. */
export function chapterLink(lessonID, ch, n) {
  return `/watch/${encodeURIComponent(lessonID)}?t=${Math.floor(ch.start_ms / 1000)}#chapter-${n}`;
}

/** chapterFromHash reads #chapter-<n> into that chapter's start in ms, or null. */
export function chapterFromHash(hash, chapters) {
  const m = /^#chapter-(\d+)$/.exec(hash || '');
  const ch = m && chapters[Number(m[1]) - 1];
  return ch ? ch.start_ms : null;
}

export class Chapters {
  constructor(player, lessonID, chapters, durationMS) {
    this.player = player;
    this.lessonID = lessonID;
    this.list = [...(chapters || [])].sort((a, b) => a.start_ms - b.start_ms);
    this.durationMS = durationMS || 0;
    this.current = -2;
  }

  /** index is the chapter playing at ms (-1 before the first). */
  index(ms) {
    let i = -1;
    for (let k = 0; k < this.list.length && this.list[k].start_ms <= ms; k++) i = k;
    return i;
  }

  start() {
    if (!this.list.length) return;
    this.player.chapterAt = (ms) => this.list[this.index(ms)]?.title || '';
    $('chapters-wrap').hidden = false;
    this.renderMenu();
    this.renderList();
    this.renderTicks();
    const v = this.player.video;
    v.addEventListener('loadedmetadata', () => { this.durationMS = v.duration * 1000; this.renderTicks(); });
    v.addEventListener('timeupdate', () => this.update());
    v.addEventListener('seeked', () => this.update());
    this.update();
  }

  /** go plays chapter i from its start and makes the address its deep link. */
  go(i) {
    const ch = this.list[i];
    this.player.seek(ch.start_ms);
    this.player.video.play().catch(() => {});
    history.replaceState(null, '', chapterLink(this.lessonID, ch, i + 1));
    this.update();
  }

  renderTicks() {
    const d = this.durationMS;
    if (!d) return;
    // A gap in the track at every boundary but the lesson's start.
    $('timeline-chapters').replaceChildren(...this.list.filter((c) => c.start_ms > 0 && c.start_ms < d).map((c) =>
      el('span', { class: 'chapter-tick', style: `left:${(c.start_ms / d) * 100}%`, title: c.title })));
  }

  renderMenu() {
    $('chapters-menu').replaceChildren(...this.list.map((c, i) => el('li', { role: 'none' },
      el('button', { type: 'button', role: 'menuitemradio', 'aria-checked': 'false', dataset: { index: String(i) },
        onclick: () => { this.go(i); this.player.closeMenus(true); } },
      el('span', { class: 'menu-title' }, c.title), el('span', { class: 'menu-time' }, clock(c.start_ms))))));
  }

  renderList() {
    $('chapter-list-items').replaceChildren(...this.list.map((c, i) => el('li', {},
      el('a', { href: chapterLink(this.lessonID, c, i + 1), dataset: { index: String(i) },
        onclick: (e) => { e.preventDefault(); this.go(i); } },
      el('span', { class: 'chapter-time' }, clock(c.start_ms)), ' ', el('span', {}, c.title)))));
    $('chapter-list').hidden = false;
  }

  /**
   * update marks the chapter playing in the menu, the list and the control
   * bar, and says it when it changes (not when the page opens).
   */
  update() {
    const i = this.index(this.player.currentMS);
    if (i === this.current) return;
    const first = this.current === -2;
    this.current = i;
    if (!first && i >= 0) announce($('chapter-status'), `Chapter ${i + 1} of ${this.list.length}: ${this.list[i].title}`);
    for (const b of $('chapters-menu').querySelectorAll('button')) {
      b.setAttribute('aria-checked', String(Number(b.dataset.index) === i));
    }
    for (const a of $('chapter-list-items').querySelectorAll('a')) {
      if (Number(a.dataset.index) === i) a.setAttribute('aria-current', 'true'); else a.removeAttribute('aria-current');
    }
    const label = $('chapter-label');
    label.textContent = i >= 0 ? this.list[i].title : '';
    label.hidden = i < 0;
  }
}
