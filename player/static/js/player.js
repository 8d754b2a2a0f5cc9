// player.js — the lesson player: hls.js (or Safari's native HLS) behind
// accessible custom controls, with a quality menu, speed remembered per
// user, captions (captions.js), thumbnail previews and chapter titles on
// the timeline, and keyboard shortcuts. It knows nothing of progress, the
// conversation or the transcript; those modules listen to its video
// element and call seek().
import { api, clock, el } from './api.js';
import { Captions } from './captions.js';

const SPEEDS = [0.5, 0.75, 1, 1.25, 1.5, 1.75, 2];

/**
 * HLS_RETRIES: a lesson still being encoded in chunks lists segments that
 * are not stored yet; the server holds such a request up to 8 s, then
 * answers 503 with Retry-After (server/media_pending.go). hls.js retries a
 * 5xx segment load: these settings let it wait for a chunk being encoded
 * (a minute or more on a busy worker) instead of giving up after six tries.
 */
export const HLS_RETRIES = {
  fragLoadPolicy: {
    default: {
      maxTimeToFirstByteMs: 20000,
      maxLoadTimeMs: 120000,
      timeoutRetry: { maxNumRetry: 4, retryDelayMs: 0, maxRetryDelayMs: 0 },
      errorRetry: { maxNumRetry: 60, retryDelayMs: 1000, maxRetryDelayMs: 4000 },
    },
  },
};
const $ = (id) => document.getElementById(id);

/** parseVTTTime reads "hh:mm:ss.mmm" or "mm:ss.mmm" into seconds. */
function parseVTTTime(t) {
  const p = t.trim().split(':').map(Number);
  return p.reduce((acc, v) => acc * 60 + v, 0);
}

/** parseThumbnails reads a WebVTT track of sprite cues ("img.jpg#xywh=x,y,w,h"). */
export function parseThumbnails(text, base) {
  const cues = [];
  for (const block of text.replace(/\r/g, '').split('\n\n')) {
    const lines = block.split('\n').filter(Boolean);
    const i = lines.findIndex((l) => l.includes('-->'));
    if (i < 0 || !lines[i + 1]) continue;
    const [from, to] = lines[i].split('-->').map((s) => parseVTTTime(s.split(' ').filter(Boolean)[0]));
    const [file, frag] = lines[i + 1].trim().split('#xywh=');
    const [x, y, w, h] = (frag || '0,0,0,0').split(',').map(Number);
    cues.push({ from, to, url: new URL(file, base).href, x, y, w, h });
  }
  return cues;
}

/** MENUS are the control bar's menus: [button id, menu id]. */
const MENUS = [['speed-btn', 'speed-menu'], ['quality-btn', 'quality-menu'], ['captions-btn', 'captions-menu'], ['chapters-btn', 'chapters-menu']];

export class Player {
  constructor({ lessonID, userID, preferences }) {
    this.lessonID = lessonID;
    this.speedKey = `lectern:speed:${userID}`;
    this.video = $('video');
    this.root = $('player');
    this.hls = null;
    this.thumbs = [];
    this.duration = 0;
    this.onReady = [];
    this.captions = new Captions(this, preferences);
    /** chapterAt names the chapter at ms for the timeline ('' for none); chapters.js sets it. */
    this.chapterAt = () => '';
  }

  /** load fetches signed playback URLs and attaches the stream. */
  async load(startAt = 0) {
    const pb = await api('GET', `/api/v1/lessons/${encodeURIComponent(this.lessonID)}/playback`);
    this.playback = pb;
    if (pb.poster_url) this.video.poster = pb.poster_url;
    if (pb.thumbnails_vtt) this.loadThumbnails(pb.thumbnails_vtt);
    this.attach(pb.hls_url, startAt);
    this.bindControls();
    // The tracks come from the master playlist's subtitles group; the list
    // here names them and says which one is the default.
    this.captions.setTracks(pb.captions || []);
    this.setSpeed(Number(localStorage.getItem(this.speedKey)) || 1, false);
  }

  attach(url, startAt) {
    const v = this.video;
    const Hls = window.Hls;
    if (Hls && Hls.isSupported()) {
      this.hls?.destroy();
      // subtitleDisplay off: hls.js keeps the chosen subtitle track
      // "hidden" (cues load, cuechange fires) and captions.js draws it.
      const hls = new Hls({ startPosition: startAt > 0 ? startAt : -1, enableWorker: true, subtitleDisplay: false, ...HLS_RETRIES });
      this.hls = hls;
      hls.on(Hls.Events.MANIFEST_PARSED, () => { this.buildQualityMenu(); this.selectSubtitles(this.captions.lang); });
      hls.on(Hls.Events.SUBTITLE_TRACKS_UPDATED, () => this.selectSubtitles(this.captions.lang));
      hls.on(Hls.Events.LEVEL_SWITCHED, () => this.updateQualityLabel());
      hls.on(Hls.Events.ERROR, (_, data) => this.onHlsError(data));
      hls.loadSource(url);
      hls.attachMedia(v);
    } else if (v.canPlayType('application/vnd.apple.mpegurl')) {
      // Safari plays HLS itself and picks the quality on its own.
      v.src = url;
      if (startAt > 0) v.addEventListener('loadedmetadata', () => { v.currentTime = startAt; }, { once: true });
    } else {
      this.showMessage('This browser cannot play the lesson', 'Try a current version of Firefox, Chrome, Edge or Safari.', true);
    }
  }

  /** onHlsError recovers what can be: an expired link is renewed where playback stood. */
  async onHlsError(data) {
    if (!data.fatal) return;
    const Hls = window.Hls;
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
      this.hls.recoverMediaError();
      return;
    }
    if (data.type === Hls.ErrorTypes.NETWORK_ERROR && !this.renewing) {
      this.renewing = true;
      const at = this.video.currentTime;
      const playing = !this.video.paused;
      try {
        const pb = await api('GET', `/api/v1/lessons/${encodeURIComponent(this.lessonID)}/playback`);
        this.attach(pb.hls_url, at);
        if (playing) this.video.play().catch(() => {});
      } catch (err) {
        this.showMessage('Playback stopped', err.message, true);
      } finally {
        setTimeout(() => { this.renewing = false; }, 5000);
      }
      return;
    }
    this.showMessage('Playback failed', 'The video could not be loaded. Reload the page to try again.', true);
  }

  showMessage(title, detail, failed = false, pct = null) {
    $('player-message').hidden = false;
    $('player-message-title').textContent = title;
    $('player-message-detail').textContent = detail || '';
    this.root.dataset.state = failed ? 'failed' : 'waiting';
    const bar = $('player-message-bar');
    bar.hidden = pct === null;
    if (pct !== null) bar.querySelector('.bar').style.width = `${pct}%`;
  }

  hideMessage() {
    $('player-message').hidden = true;
    this.root.dataset.state = 'ready';
  }

  async loadThumbnails(url) {
    try {
      const resp = await fetch(url, { credentials: 'same-origin' });
      if (resp.ok) this.thumbs = parseThumbnails(await resp.text(), resp.url);
    } catch { /* previews are optional */ }
  }

  get currentMS() { return Math.round(this.video.currentTime * 1000); }

  /** seek moves to ms and keeps playing if it was. */
  seek(ms) {
    const d = this.video.duration || this.duration;
    let t = Math.max(0, ms / 1000);
    if (d) t = Math.min(t, Math.max(0, d - 0.1));
    this.video.currentTime = t;
    this.updateTime();
  }

  skip(seconds) { this.seek((this.video.currentTime + seconds) * 1000); }

  toggle() {
    if (this.video.paused) this.video.play().catch(() => {});
    else this.video.pause();
  }

  setSpeed(rate, remember = true) {
    if (!SPEEDS.includes(rate)) rate = 1;
    this.video.playbackRate = rate;
    this.video.defaultPlaybackRate = rate;
    $('speed-btn').textContent = `${rate}×`;
    $('speed-btn').setAttribute('aria-label', `Playback speed: ${rate}×`);
    if (remember) localStorage.setItem(this.speedKey, String(rate));
    for (const b of $('speed-menu').querySelectorAll('button')) {
      b.setAttribute('aria-checked', String(Number(b.dataset.rate) === rate));
    }
  }

  buildSpeedMenu() {
    const menu = $('speed-menu');
    menu.replaceChildren(...SPEEDS.map((r) => el('li', { role: 'none' },
      el('button', { type: 'button', role: 'menuitemradio', 'aria-checked': 'false', dataset: { rate: String(r) },
        onclick: () => { this.setSpeed(r); this.closeMenus(); } }, r === 1 ? 'Normal' : `${r}×`))));
  }

  buildQualityMenu() {
    const hls = this.hls;
    const levels = hls.levels.map((l, i) => ({ i, h: l.height, bw: l.bitrate })).filter((l) => l.h)
      .sort((a, b) => b.h - a.h);
    const btn = $('quality-btn');
    btn.hidden = levels.length < 1;
    const item = (label, level) => el('li', { role: 'none' }, el('button', {
      type: 'button', role: 'menuitemradio', 'aria-checked': 'false', dataset: { level: String(level) },
      onclick: () => { hls.currentLevel = level; this.closeMenus(); this.updateQualityLabel(); },
    }, label));
    $('quality-menu').replaceChildren(item('Auto', -1), ...levels.map((l) => item(`${l.h}p`, l.i)));
    this.updateQualityLabel();
  }

  updateQualityLabel() {
    const hls = this.hls;
    if (!hls) return;
    const auto = hls.autoLevelEnabled;
    const cur = hls.levels[hls.currentLevel];
    const h = cur && cur.height ? `${cur.height}p` : '';
    // In auto mode the level playing is a detail that phones leave out.
    $('quality-btn').replaceChildren(...(auto ? ['Auto', h && el('span', { class: 'ctl-detail' }, ` (${h})`)] : [h || 'Auto']));
    $('quality-btn').setAttribute('aria-label', `Quality: ${auto ? `Auto${h ? ` (${h})` : ''}` : h || 'Auto'}`);
    for (const b of $('quality-menu').querySelectorAll('button')) {
      const lv = Number(b.dataset.level);
      b.setAttribute('aria-checked', String(auto ? lv === -1 : lv === hls.currentLevel));
    }
  }

  /**
   * selectSubtitles asks the HLS engine for the subtitle track in lang
   * ('' for none). Safari's native HLS loads every track of the group
   * itself; captions.js hides all but the chosen one.
   */
  selectSubtitles(lang) {
    const hls = this.hls;
    if (!hls || !hls.subtitleTracks) return;
    const want = (lang || '').toLowerCase();
    const i = want ? hls.subtitleTracks.findIndex((t) => (t.lang || '').toLowerCase() === want) : -1;
    hls.subtitleDisplay = false;
    if (hls.subtitleTrack !== i) hls.subtitleTrack = i;
    this.captions.bindTextTrack();
  }

  toggleCaptions() { this.captions.toggle(); }

  toggleFullscreen() {
    if (document.fullscreenElement) document.exitFullscreen();
    else this.root.requestFullscreen?.().catch(() => {});
  }

  toggleMute() {
    this.video.muted = !this.video.muted;
  }

  /** updateVolume shows the volume and whether sound is off, to the eye and in words. */
  updateVolume() {
    const v = this.video;
    const off = v.muted || v.volume === 0;
    this.root.classList.toggle('is-muted', off);
    $('mute').setAttribute('aria-pressed', String(v.muted));
    $('volume').value = v.muted ? 0 : v.volume;
    $('volume').setAttribute('aria-valuetext', v.muted ? 'muted' : `${Math.round(v.volume * 100)}%`);
  }

  /**
   * openMenu opens menu (or closes it when open) and puts the focus on its
   * checked item, or on its first or last item for 'first' and 'last'.
   */
  openMenu(btn, menu, at = 'checked') {
    const open = menu.hidden;
    this.closeMenus();
    if (!open) return;
    menu.hidden = false;
    btn.setAttribute('aria-expanded', 'true');
    const items = [...menu.querySelectorAll('button')];
    const checked = menu.querySelector('[aria-checked="true"]');
    ({ first: items[0], last: items[items.length - 1] }[at] || checked || items[0])?.focus();
  }

  /** closeMenus closes every menu; focusButton returns focus to the open one's button. */
  closeMenus(focusButton = false) {
    for (const [b, m] of MENUS) {
      if (focusButton && !$(m).hidden) $(b).focus();
      $(m).hidden = true;
      $(b).setAttribute('aria-expanded', 'false');
    }
  }

  /**
   * menuKeys moves between a menu's items with the arrow keys, Home and
   * End; Escape closes it and gives the focus back to its button, Tab
   * closes it and moves on.
   */
  menuKeys(e) {
    const menu = e.target.closest('.menu');
    if (!menu) return;
    const items = [...menu.querySelectorAll('button')];
    const i = items.indexOf(document.activeElement);
    const to = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: items.length - 1 }[e.key];
    if (to !== undefined) {
      items[(to + items.length) % items.length]?.focus();
      e.preventDefault();
    } else if (e.key === 'Escape') {
      this.closeMenus(true);
      e.preventDefault();
    } else if (e.key === 'Tab') {
      // Tab leaves from the menu's button, so the next stop is the one after it.
      this.closeMenus(true);
    }
  }

  /** menuButtonKeys opens a menu from its button with ↓ (first item) or ↑ (last item). */
  menuButtonKeys(e, btn, menu) {
    const at = { ArrowDown: 'first', ArrowUp: 'last' }[e.key];
    if (!at) return;
    e.preventDefault();
    if (!menu.hidden) this.closeMenus();
    this.openMenu(btn, menu, at);
  }

  updateTime() {
    const v = this.video;
    const d = v.duration || this.duration || 0;
    const t = v.currentTime;
    const pct = d ? (t / d) * 100 : 0;
    $('timeline-played').style.width = `${pct}%`;
    $('timeline-thumb').style.left = `${pct}%`;
    $('time-current').textContent = clock(t * 1000);
    const tl = $('timeline');
    tl.setAttribute('aria-valuenow', String(Math.round(t)));
    const chapter = this.chapterAt(t * 1000);
    tl.setAttribute('aria-valuetext', `${clock(t * 1000)} of ${clock(d * 1000)}${chapter ? `, chapter: ${chapter}` : ''}`);
    if (v.buffered.length && d) {
      $('timeline-buffered').style.width = `${(v.buffered.end(v.buffered.length - 1) / d) * 100}%`;
    }
  }

  /** timeAt maps a pointer position on the timeline to seconds. */
  timeAt(clientX) {
    const r = $('timeline').getBoundingClientRect();
    const f = Math.min(1, Math.max(0, (clientX - r.left) / r.width));
    return f * (this.video.duration || this.duration || 0);
  }

  showPreview(clientX) {
    const t = this.timeAt(clientX);
    const r = $('timeline').getBoundingClientRect();
    const prev = $('timeline-preview');
    const img = $('timeline-preview-img');
    const cue = this.thumbs.find((c) => t >= c.from && t < c.to);
    if (cue) {
      img.style.width = `${cue.w}px`;
      img.style.height = `${cue.h}px`;
      img.style.backgroundImage = `url("${cue.url}")`;
      img.style.backgroundPosition = `-${cue.x}px -${cue.y}px`;
      img.hidden = false;
    } else {
      img.hidden = true;
    }
    const half = (cue ? cue.w : 40) / 2 + 4;
    const x = Math.min(r.width - half, Math.max(half, clientX - r.left));
    prev.style.left = `${x}px`;
    $('timeline-preview-time').textContent = clock(t * 1000);
    const chapter = this.chapterAt(t * 1000);
    $('timeline-preview-chapter').textContent = chapter;
    $('timeline-preview-chapter').hidden = !chapter;
    prev.hidden = false;
  }

  bindControls() {
    const v = this.video;
    const root = this.root;
    this.buildSpeedMenu();
    v.addEventListener('play', () => {
      root.classList.add('is-playing');
      $('play').setAttribute('aria-label', 'Pause (k)');
      // The big button goes away: its focus moves to the control bar's.
      if (document.activeElement === $('big-play')) $('play').focus();
      $('big-play').hidden = true;
    });
    v.addEventListener('pause', () => { root.classList.remove('is-playing'); $('play').setAttribute('aria-label', 'Play (k)'); });
    v.addEventListener('timeupdate', () => this.updateTime());
    v.addEventListener('progress', () => this.updateTime());
    v.addEventListener('loadedmetadata', () => {
      this.duration = v.duration;
      $('time-total').textContent = clock(v.duration * 1000);
      $('timeline').setAttribute('aria-valuemax', String(Math.round(v.duration)));
      if (v.paused) $('big-play').hidden = false;
      this.hideMessage();
      this.onReady.forEach((f) => f());
    });
    v.addEventListener('volumechange', () => this.updateVolume());
    this.updateVolume();
    v.addEventListener('click', () => this.toggle());
    $('big-play').addEventListener('click', () => this.toggle());
    $('play').addEventListener('click', () => this.toggle());
    $('back10').addEventListener('click', () => this.skip(-10));
    $('fwd10').addEventListener('click', () => this.skip(10));
    $('mute').addEventListener('click', () => this.toggleMute());
    $('volume').addEventListener('input', (e) => { v.volume = Number(e.target.value); v.muted = v.volume === 0; });
    $('fullscreen').addEventListener('click', () => this.toggleFullscreen());
    document.addEventListener('fullscreenchange', () => {
      $('fullscreen').setAttribute('aria-pressed', String(document.fullscreenElement === root));
    });
    $('captions-btn').addEventListener('click', () => this.openMenu($('captions-btn'), $('captions-menu')));
    $('chapters-btn').addEventListener('click', () => this.openMenu($('chapters-btn'), $('chapters-menu')));
    for (const [b, m] of MENUS) {
      $(m).addEventListener('keydown', (e) => this.menuKeys(e));
      $(b).addEventListener('keydown', (e) => this.menuButtonKeys(e, $(b), $(m)));
    }
    $('help-btn').addEventListener('click', () => $('help-dialog').showModal());
    $('speed-btn').addEventListener('click', () => this.openMenu($('speed-btn'), $('speed-menu')));
    $('quality-btn').addEventListener('click', () => this.openMenu($('quality-btn'), $('quality-menu')));
    document.addEventListener('click', (e) => { if (!e.target.closest('.menu-wrap')) this.closeMenus(); });
    this.bindTimeline();
    this.bindKeys();
    this.bindIdle();
    this.trackControlsHeight();
  }

  /**
   * trackControlsHeight keeps --controls-h on the player at the control
   * bar's height, which the captions overlay sits above (it changes with
   * the width, full screen and the font size).
   */
  trackControlsHeight() {
    const set = () => this.root.style.setProperty('--controls-h', `${$('controls').offsetHeight}px`);
    set();
    if (window.ResizeObserver) new ResizeObserver(set).observe($('controls'));
  }

  bindTimeline() {
    const tl = $('timeline');
    let dragging = false;
    tl.addEventListener('pointerdown', (e) => {
      dragging = true;
      tl.setPointerCapture(e.pointerId);
      this.seek(this.timeAt(e.clientX) * 1000);
    });
    tl.addEventListener('pointermove', (e) => {
      this.showPreview(e.clientX);
      if (dragging) this.seek(this.timeAt(e.clientX) * 1000);
    });
    tl.addEventListener('pointerup', () => { dragging = false; });
    tl.addEventListener('pointerleave', () => { if (!dragging) $('timeline-preview').hidden = true; });
    tl.addEventListener('keydown', (e) => {
      const steps = { ArrowLeft: -5, ArrowRight: 5, PageDown: -30, PageUp: 30 };
      if (e.key in steps) { this.skip(steps[e.key]); e.preventDefault(); e.stopPropagation(); }
      if (e.key === 'Home') { this.seek(0); e.preventDefault(); }
      if (e.key === 'End') { this.seek((this.video.duration || 0) * 1000); e.preventDefault(); }
      if (e.key in steps || e.key === 'Home' || e.key === 'End') this.previewAtPlayhead();
    });
    // Keyboard focus shows where the playhead is, with its chapter.
    tl.addEventListener('focus', () => { if (tl.matches(':focus-visible')) this.previewAtPlayhead(); });
    tl.addEventListener('blur', () => { $('timeline-preview').hidden = true; });
  }

  /** previewAtPlayhead shows the timeline preview where the playhead is. */
  previewAtPlayhead() {
    const r = $('timeline').getBoundingClientRect();
    const d = this.video.duration || this.duration || 0;
    if (d) this.showPreview(r.left + (this.video.currentTime / d) * r.width);
  }

  bindKeys() {
    document.addEventListener('keydown', (e) => {
      // Keys a control used already (a tab list's arrows, a menu's) are not shortcuts too.
      if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === 'Escape' && MENUS.some(([, m]) => !$(m).hidden)) {
        this.closeMenus(true);
        e.preventDefault();
        return;
      }
      const t = e.target;
      if (t.closest && t.closest('input, textarea, select, [contenteditable], dialog[open], .menu')) return;
      const onButton = t.tagName === 'BUTTON' || t.tagName === 'A';
      const acts = {
        ' ': () => { if (!onButton) this.toggle(); else return false; },
        k: () => this.toggle(),
        j: () => this.skip(-10),
        l: () => this.skip(10),
        ArrowLeft: () => this.skip(-5),
        ArrowRight: () => this.skip(5),
        f: () => this.toggleFullscreen(),
        m: () => this.toggleMute(),
        c: () => this.toggleCaptions(),
        '?': () => $('help-dialog').showModal(),
      };
      const key = e.key.length === 1 && e.key !== ' ' && e.key !== '?' ? e.key.toLowerCase() : e.key;
      const act = acts[key];
      if (!act) return;
      if (act() === false) return;
      e.preventDefault();
      this.nudgeIdle();
    });
  }

  /** The controls fade while playing with no pointer or key activity. */
  bindIdle() {
    const root = this.root;
    const wake = () => this.nudgeIdle();
    root.addEventListener('pointermove', wake);
    root.addEventListener('focusin', wake);
    this.video.addEventListener('pause', wake);
  }

  nudgeIdle() {
    const root = this.root;
    root.classList.remove('is-idle');
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      // Never while a menu is open or the keyboard's focus is on a
      // control: what has the focus stays in sight.
      if (!this.video.paused && !root.contains(document.activeElement?.closest?.('.menu') || null)
        && !$('controls').querySelector(':focus-visible')) root.classList.add('is-idle');
    }, 2500);
  }
}

// ---- Plain playback (the caption editor) ----
// Pages that show a lesson with the browser's own controls share this
// instead of the Player class above, which needs the watch page's controls.

/**
 * attachPlayback asks for lesson lessonID's signed playback and plays it in
 * video with hls.js, or with the browser's own HLS (Safari). A media error
 * is recovered and an expired link renewed where playback stood; onFail
 * gets a sentence for anything else. hlsConfig adds to hls.js's settings.
 * It returns the playback JSON.
 */
export async function attachPlayback(video, lessonID, { onFail = () => {}, hlsConfig = {} } = {}) {
  const path = `/api/v1/lessons/${encodeURIComponent(lessonID)}/playback`;
  const pb = await api('GET', path);
  if (pb.poster_url) video.poster = pb.poster_url;
  const Hls = window.Hls;
  if (!(Hls && Hls.isSupported())) {
    if (!video.canPlayType('application/vnd.apple.mpegurl')) {
      onFail('This browser cannot play the lesson. Try a current version of Firefox, Chrome, Edge or Safari.');
    } else {
      video.src = pb.hls_url;
    }
    return pb;
  }
  const hls = new Hls({ enableWorker: true, ...HLS_RETRIES, ...hlsConfig });
  let renewing = false;
  hls.on(Hls.Events.ERROR, async (_, d) => {
    if (!d.fatal) return;
    if (d.type === Hls.ErrorTypes.MEDIA_ERROR) { hls.recoverMediaError(); return; }
    if (d.type !== Hls.ErrorTypes.NETWORK_ERROR || renewing) { onFail('The video could not be loaded. Reload the page to try again.'); return; }
    renewing = true;
    try {
      // hls.js carries on from where the video stands.
      hls.loadSource((await api('GET', path)).hls_url);
    } catch (err) {
      onFail(err.message);
    } finally {
      setTimeout(() => { renewing = false; }, 5000);
    }
  });
  hls.loadSource(pb.hls_url);
  hls.attachMedia(video);
  return pb;
}
// ---- end plain playback ----
