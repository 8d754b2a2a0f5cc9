// transcript.js — the transcript beside the video, in a tab next to the
// conversation (below the video on phones): the cues of the caption
// language shown (or of the default track while captions are off), one
// button per line that plays from there, the line being spoken marked and
// kept in view unless the reader is scrolling or searching, a search that
// filters and highlights lines, and a link to download the transcript as
// text. Cue text is set as text, never as HTML.
import { api, clock, el } from './api.js';

const $ = (id) => document.getElementById(id);
/** READING_MS is how long after the reader scrolls the list stays put. */
const READING_MS = 5000;

/** fold lowercases and strips accents, so that "cafe" finds "Café". */
function fold(s) {
  return s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/**
 * highlight returns text's nodes with each match of query (folded) in a
 * <mark>, all as text. Folding keeps one character per character of the
 * text for the Latin scripts it is for; where it does not, nothing is
 * marked.
 */
export function highlight(text, query) {
  const q = fold(query);
  const t = fold(text);
  if (!q || t.length !== text.length) return [text];
  const out = [];
  let from = 0;
  for (let i = t.indexOf(q); i >= 0; i = t.indexOf(q, i + q.length)) {
    if (i > from) out.push(text.slice(from, i));
    out.push(el('mark', {}, text.slice(i, i + q.length)));
    from = i + q.length;
  }
  if (from < text.length) out.push(text.slice(from));
  return out;
}

export class Transcript {
  constructor(player, lessonID) {
    this.player = player;
    this.captions = player.captions;
    this.lessonID = lessonID;
    this.cues = [];
    this.lang = null;
    this.current = -1;
    this.readingUntil = 0;
    this.loading = 0;
  }

  /** start shows the tabs and loads the transcript, when the lesson has captions. */
  start() {
    if (!this.captions.tracks.length) return;
    $('side-tabs').hidden = false;
    $('conversation').setAttribute('role', 'tabpanel');
    $('conversation').setAttribute('aria-labelledby', 'tab-conversation');
    $('transcript').setAttribute('role', 'tabpanel');
    $('transcript').setAttribute('aria-labelledby', 'tab-transcript');
    this.bindTabs();
    const list = $('transcript-list');
    const reading = () => { this.readingUntil = Date.now() + READING_MS; };
    list.addEventListener('wheel', reading, { passive: true });
    list.addEventListener('touchmove', reading, { passive: true });
    list.addEventListener('keydown', (e) => { if (['ArrowUp', 'ArrowDown', 'PageUp', 'PageDown', 'Home', 'End'].includes(e.key)) reading(); });
    $('transcript-search').addEventListener('input', () => this.filter());
    $('transcript-follow').addEventListener('change', () => { if ($('transcript-follow').checked) this.follow(true); });
    this.player.video.addEventListener('timeupdate', () => this.follow());
    this.player.video.addEventListener('seeked', () => this.follow(true));
    this.captions.onChange(() => this.load());
    this.load();
  }

  bindTabs() {
    const tabs = [$('tab-conversation'), $('tab-transcript')];
    const show = (tab, focus = false) => {
      for (const t of tabs) {
        const on = t === tab;
        t.setAttribute('aria-selected', String(on));
        t.tabIndex = on ? 0 : -1;
        $(t.getAttribute('aria-controls')).hidden = !on;
      }
      if (focus) tab.focus();
      if (tab.id === 'tab-transcript') this.follow(true);
    };
    for (const t of tabs) {
      t.addEventListener('click', () => show(t));
      t.addEventListener('keydown', (e) => {
        const i = tabs.indexOf(t);
        const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
        if (to === undefined) return;
        e.preventDefault();
        show(tabs[(to + tabs.length) % tabs.length], true);
      });
    }
    this.showTab = (name) => show(name === 'transcript' ? tabs[1] : tabs[0]);
  }

  /** load fetches the cues of the transcript's language, when it changed. */
  async load() {
    const track = this.captions.transcriptTrack;
    if (!track || track.lang === this.lang) return;
    this.lang = track.lang;
    const n = ++this.loading;
    const base = `/api/v1/lessons/${encodeURIComponent(this.lessonID)}/captions/${encodeURIComponent(track.lang)}`;
    $('transcript-title').textContent = `Transcript · ${track.label}`;
    $('transcript-download').href = `${base}?format=txt`;
    $('transcript-download').setAttribute('aria-label', `Download transcript (${track.label}, text)`);
    $('transcript-download').title = 'Download the transcript as a text file';
    $('transcript-count').textContent = 'Loading the transcript…';
    try {
      const resp = await api('GET', `${base}?format=json`);
      if (n !== this.loading) return;
      this.cues = resp.cues || [];
    } catch (err) {
      if (n !== this.loading) return;
      this.cues = [];
      this.lang = null;
      $('transcript-count').textContent = `The transcript could not be loaded: ${err.message}`;
      $('transcript-list').replaceChildren();
      return;
    }
    this.render();
  }

  render() {
    this.current = -1;
    $('transcript-list').replaceChildren(...this.cues.map((c, i) => el('li', { dataset: { index: String(i) } },
      el('button', { type: 'button', class: 'transcript-line', dataset: { start: String(c.start_ms) },
        onclick: () => this.play(c) },
      el('span', { class: 'transcript-time' }, clock(c.start_ms)),
      el('span', { class: 'transcript-text' }, c.text)))));
    this.filter();
    this.follow(true);
  }

  /** play seeks to a line's cue (a click or Enter on it). */
  play(cue) {
    this.player.seek(cue.start_ms);
    this.player.video.play().catch(() => {});
    this.follow(true);
  }

  /** filter shows only the lines that match the search, with the matches marked. */
  filter() {
    const q = $('transcript-search').value.trim();
    let shown = 0;
    for (const li of $('transcript-list').children) {
      const c = this.cues[Number(li.dataset.index)];
      const match = !q || fold(c.text).includes(fold(q));
      li.hidden = !match;
      if (match) shown++;
      li.querySelector('.transcript-text').replaceChildren(...highlight(c.text, q));
    }
    const n = this.cues.length;
    $('transcript-count').textContent = !n ? 'This transcript is empty.'
      : q ? (shown ? `${shown} of ${n} lines match “${q}”.` : `No line matches “${q}”.`)
        : `${n} ${n === 1 ? 'line' : 'lines'}. Select a line to play from there.`;
  }

  /** index is the cue being spoken at ms: the last one started. */
  index(ms) {
    let lo = 0, hi = this.cues.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.cues[mid].start_ms <= ms) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    return found;
  }

  /**
   * follow marks the line being spoken and, when following, keeps it in
   * view: not while the reader scrolls the list or searches, nor while the
   * panel is hidden.
   */
  follow(force = false) {
    const i = this.index(this.player.currentMS);
    const list = $('transcript-list');
    if (i !== this.current) {
      list.querySelector('[aria-current]')?.removeAttribute('aria-current');
      list.children[i]?.querySelector('button').setAttribute('aria-current', 'true');
    }
    const moved = i !== this.current;
    this.current = i;
    const node = list.children[i];
    if (!node || node.hidden || $('transcript').hidden || !$('transcript-follow').checked) return;
    if ($('transcript-search').value.trim() || Date.now() < this.readingUntil) return;
    if (moved || force) {
      list.scrollTop += node.getBoundingClientRect().top - list.getBoundingClientRect().top - list.clientHeight / 3;
    }
  }
}
