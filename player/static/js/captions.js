// captions.js — captions in the player: the CC menu (languages from
// playback, Off, size and background), the choice remembered on the
// server for the user (PUT /api/v1/me/preferences, so it follows them to
// every device), and an overlay that draws the current cues above the
// control bar. hls.js (or Safari) loads the chosen track from the master
// playlist's subtitles group into a TextTrack left in "hidden" mode; the
// overlay renders its active cues itself, so that captions are placed and
// styled the same everywhere and never sit under the controls. Cue text is
// inserted as text; only <i>, <b> and <u> become elements, built with the
// DOM API.
import { announce, api, el, toast } from './api.js';

const $ = (id) => document.getElementById(id);
const SIZES = [['small', 'Small'], ['medium', 'Medium'], ['large', 'Large']];
const BACKGROUNDS = [['none', 'None'], ['semi', 'Semi-transparent'], ['solid', 'Solid']];
const KEEP = new Set(['I', 'B', 'U']);

/**
 * cueNodes turns a cue into nodes to show: text nodes, and <i>, <b>, <u>
 * elements made with createElement. It walks the browser's own parse of
 * the cue (getCueAsHTML, which yields WebVTT nodes, never markup from the
 * page), keeping only those three tags; where that is missing it strips
 * every tag and decodes the few entities WebVTT has, all as text.
 */
export function cueNodes(cue) {
  if (typeof cue.getCueAsHTML === 'function') {
    const copy = (from, to) => {
      for (const n of from.childNodes) {
        if (n.nodeType === Node.TEXT_NODE) to.append(document.createTextNode(n.textContent));
        else if (n.nodeType === Node.ELEMENT_NODE || n.nodeType === Node.DOCUMENT_FRAGMENT_NODE) {
          const tag = (n.localName || '').toUpperCase();
          if (KEEP.has(tag)) to.append(copy(n, document.createElement(tag.toLowerCase())));
          else copy(n, to);
        }
      }
      return to;
    };
    return [...copy(cue.getCueAsHTML(), document.createDocumentFragment()).childNodes];
  }
  const text = String(cue.text || '').replace(/<[^>]*>/g, '')
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&nbsp;/g, '\u00a0').replace(/&amp;/g, '&');
  return [document.createTextNode(text)];
}

/** bestTrack picks the track for a wanted language: exact, then same language, then the default. */
export function bestTrack(tracks, lang) {
  if (!tracks.length) return null;
  const want = String(lang || '').toLowerCase();
  const base = want.split('-')[0];
  return tracks.find((t) => t.lang.toLowerCase() === want)
    || (base && tracks.find((t) => t.lang.toLowerCase().split('-')[0] === base))
    || tracks.find((t) => t.default)
    || tracks[0];
}

export class Captions {
  /**
   * @param player the Player
   * @param prefs the user's preferences ({caption_lang, caption_size, caption_background})
   */
  constructor(player, prefs = {}) {
    this.player = player;
    this.video = player.video;
    this.tracks = [];
    this.lang = '';
    this.size = prefs.caption_size || 'medium';
    this.background = prefs.caption_background || 'semi';
    this.wanted = prefs.caption_lang || '';
    this.textTrack = null;
    this.listeners = [];
    this.overlay = $('captions-overlay');
    this.onCueChange = () => this.render();
    this.watchTime();
  }

  /** onChange registers fn(lang) to hear when the caption language changes ('' = off). */
  onChange(fn) { this.listeners.push(fn); }

  /** setTracks takes the lesson's tracks from playback and applies the preference. */
  setTracks(tracks) {
    this.tracks = tracks || [];
    $('captions-wrap').hidden = !this.tracks.length;
    const pick = this.wanted ? bestTrack(this.tracks, this.wanted) : null;
    this.buildMenu();
    this.applyStyle();
    this.select(pick ? pick.lang : '', { remember: false, announce: false });
  }

  /** current is the track shown, or null when captions are off. */
  get current() { return this.tracks.find((t) => t.lang === this.lang) || null; }

  /** transcriptTrack is the track a transcript should use: the one shown, else the default. */
  get transcriptTrack() { return this.current || bestTrack(this.tracks, this.lastLang || this.wanted); }

  /** toggle turns captions off, or back on in the last language (the c key). */
  toggle() {
    if (!this.tracks.length) return;
    if (this.lang) this.select('');
    else this.select((bestTrack(this.tracks, this.lastLang || this.wanted) || {}).lang || '');
  }

  /** select shows captions in lang ('' turns them off). */
  select(lang, { remember = true, announce = true } = {}) {
    const track = lang ? this.tracks.find((t) => t.lang === lang) : null;
    this.lang = track ? track.lang : '';
    if (this.lang) this.lastLang = this.lang;
    this.player.selectSubtitles(this.lang);
    this.bindTextTrack();
    const btn = $('captions-btn');
    btn.classList.toggle('is-on', !!this.lang);
    // The name holds the button's visible "CC", for voice control.
    const state = track ? track.label : 'off';
    btn.setAttribute('aria-label', `CC captions: ${state} (c)`);
    btn.title = `Captions: ${state} (c)`;
    this.markMenu();
    if (announce) this.announce(track ? `Captions on: ${track.label}` : 'Captions off');
    if (remember) this.save({ caption_lang: this.lang });
    this.settle();
    this.listeners.forEach((f) => f(this.lang));
  }

  setSize(size) {
    this.size = size;
    this.applyStyle();
    this.markMenu();
    this.announce(`Caption size: ${SIZES.find((s) => s[0] === size)[1].toLowerCase()}`);
    this.save({ caption_size: size });
  }

  setBackground(bg) {
    this.background = bg;
    this.applyStyle();
    this.markMenu();
    this.announce(`Caption background: ${BACKGROUNDS.find((b) => b[0] === bg)[1].toLowerCase()}`);
    this.save({ caption_background: bg });
  }

  applyStyle() {
    const o = this.overlay;
    o.className = `captions-overlay cap-size-${this.size} cap-bg-${this.background}`;
  }

  announce(text) { announce($('captions-status'), text); }

  async save(change) {
    try {
      await api('PUT', '/api/v1/me/preferences', change);
    } catch (err) {
      toast(`Your caption setting could not be saved: ${err.message}`, true);
    }
  }

  /**
   * bindTextTrack follows the TextTrack of the chosen language: the
   * player's HLS engine adds it (hidden) once the manifest is read, so it
   * is looked up again whenever tracks are added.
   */
  bindTextTrack() {
    const find = () => {
      if (!this.lang) return null;
      const want = this.lang.toLowerCase();
      return [...this.video.textTracks].find((t) => (t.kind === 'subtitles' || t.kind === 'captions')
        && (t.language || '').toLowerCase() === want) || null;
    };
    const track = find();
    if (track !== this.textTrack) {
      this.textTrack?.removeEventListener('cuechange', this.onCueChange);
      this.textTrack = track;
      track?.addEventListener('cuechange', this.onCueChange);
    }
    for (const t of this.video.textTracks) {
      if (t.kind !== 'subtitles' && t.kind !== 'captions') continue;
      // Hidden keeps the cues loading and cuechange firing, without the
      // browser drawing them under our controls.
      if (t === track) { if (t.mode !== 'hidden') t.mode = 'hidden'; } else if (t.mode === 'showing') t.mode = 'disabled';
    }
    if (!this.boundAdd) {
      this.boundAdd = true;
      this.video.textTracks.addEventListener('addtrack', () => this.bindTextTrack());
      this.video.textTracks.addEventListener('change', () => {
        // Something (Safari's own menu, hls.js) showed a track: keep ours hidden.
        if ([...this.video.textTracks].some((t) => t.mode === 'showing')) this.bindTextTrack();
      });
    }
    this.render();
  }

  /**
   * render draws the cues of the chosen track that span the current time.
   * They are worked out from the track's cues rather than read from
   * activeCues, which browsers leave stale while paused when the engine
   * replaces a track's cues (captions turned off and on again).
   */
  render() {
    const o = this.overlay;
    const t = this.video.currentTime;
    const cues = [];
    if (this.lang && this.textTrack && this.textTrack.cues) {
      for (const c of this.textTrack.cues) {
        if (c.startTime <= t && t < c.endTime) cues.push(c);
      }
    }
    cues.sort((a, b) => a.startTime - b.startTime);
    const key = cues.map((c) => `${c.startTime}|${c.endTime}|${c.text}`).join('\n');
    if (key === this.shownKey) return;
    this.shownKey = key;
    o.replaceChildren(...cues.map((c) => el('div', { class: 'caption-cue' }, el('span', { class: 'caption-text' }, cueNodes(c)))));
    o.hidden = !cues.length;
  }

  /** watchTime keeps the overlay in step with playback and seeks. */
  watchTime() {
    for (const ev of ['timeupdate', 'seeked']) this.video.addEventListener(ev, () => this.render());
  }

  /**
   * settle renders again a few times after a change, for cues that the
   * engine loads (or reloads) a moment later while the video is paused.
   */
  settle() {
    clearInterval(this.settleTimer);
    let n = 0;
    this.settleTimer = setInterval(() => {
      this.render();
      if (++n >= 12) clearInterval(this.settleTimer);
    }, 250);
  }

  buildMenu() {
    const menu = $('captions-menu');
    const item = (label, attrs, onclick) => el('li', { role: 'none' },
      el('button', { type: 'button', role: 'menuitemradio', 'aria-checked': 'false', ...attrs, onclick }, label));
    const group = (label, items) => el('li', { role: 'none', class: 'menu-group' },
      el('span', { class: 'menu-heading', 'aria-hidden': 'true' }, label),
      el('ul', { role: 'group', 'aria-label': label }, items));
    menu.replaceChildren(
      group('Language', [
        item('Off', { dataset: { lang: '' } }, () => { this.select(''); this.player.closeMenus(true); }),
        ...this.tracks.map((t) => item(t.label, { lang: t.lang, dataset: { lang: t.lang } },
          () => { this.select(t.lang); this.player.closeMenus(true); })),
      ]),
      group('Size', SIZES.map(([v, label]) => item(label, { dataset: { size: v } }, () => this.setSize(v)))),
      group('Background', BACKGROUNDS.map(([v, label]) => item(label, { dataset: { bg: v } }, () => this.setBackground(v)))),
    );
    this.markMenu();
  }

  markMenu() {
    for (const b of $('captions-menu').querySelectorAll('button')) {
      const d = b.dataset;
      const on = d.lang !== undefined ? d.lang === this.lang : d.size !== undefined ? d.size === this.size : d.bg === this.background;
      b.setAttribute('aria-checked', String(on));
    }
  }
}
