// caption_playback.js — the caption editor's video: plain hls.js playback
// (attachPlayback in player.js, the browser's own controls), buttons to
// play and step, the time to the millisecond, and the cues being edited
// shown over the picture and highlighted in the list as they play.
import { api } from './api.js';
import { attachPlayback } from './player.js';
import { formatTime } from './caption_cues.js';

const $ = (id) => document.getElementById(id);

export class EditorVideo {
  /** video is the <video>; editor the CueEditor; durationMS() the lesson's length. */
  constructor({ video, editor, durationMS }) {
    Object.assign(this, { video, editor, durationMS });
    this.current = new Set();
    // ready is set once the lesson's video is attached.
    this.ready = false;
  }

  get nowMS() { return Math.round(this.video.currentTime * 1000); }

  toggle() {
    if (this.video.paused) this.video.play().catch(() => {}); else this.video.pause();
  }

  /** skip moves by ms, within the video. */
  skip(ms) {
    const d = this.durationMS();
    let t = Math.max(0, this.nowMS + ms);
    if (d) t = Math.min(t, d);
    this.video.currentTime = t / 1000;
  }

  playFrom(ms) {
    this.video.currentTime = ms / 1000;
    this.video.play().catch(() => {});
  }

  /** showPreview writes the cues playing now over the video, as edited. */
  showPreview() {
    const texts = this.editor.cues.filter((c) => this.current.has(c.key)).map((c) => c.text).filter(Boolean);
    const p = $('cap-preview');
    p.textContent = texts.join('\n');
    p.hidden = !texts.length;
  }

  tick() {
    const ms = this.nowMS;
    $('now').textContent = formatTime(ms);
    $('add-at').textContent = formatTime(ms);
    this.current = this.editor.showTime(ms, !this.video.paused);
    this.showPreview();
  }

  /**
   * start binds the controls and plays the lesson once it has something
   * to play (asking again every 15 s until then); the player shows the
   * captions being edited, never the saved ones.
   */
  async start(lessonID, playable) {
    this.bind();
    while (!playable) {
      await new Promise((r) => setTimeout(r, 15000));
      try {
        playable = (await api('GET', `/api/v1/lessons/${encodeURIComponent(lessonID)}`)).playable;
      } catch { /* ask again */ }
    }
    $('video-message').hidden = true;
    const fail = (message) => {
      $('video-message').textContent = message;
      $('video-message').hidden = false;
    };
    try {
      await attachPlayback(this.video, lessonID, { onFail: fail, hlsConfig: { enableWebVTT: false, enableCEA708Captions: false } });
      this.ready = true;
    } catch (err) {
      fail(err.message);
    }
    for (const id of ['play-btn', 'back-btn', 'fwd-btn']) $(id).disabled = !this.ready;
  }

  bind() {
    const v = this.video;
    const media = document.querySelector('.cap-media');
    const frame = () => { this.tick(); if (!v.paused) requestAnimationFrame(frame); };
    v.addEventListener('play', () => {
      $('play-btn').setAttribute('aria-label', 'Pause (k)');
      media.classList.add('is-playing');
      requestAnimationFrame(frame);
    });
    v.addEventListener('pause', () => {
      $('play-btn').setAttribute('aria-label', 'Play (k)');
      media.classList.remove('is-playing');
      this.tick();
    });
    for (const ev of ['seeked', 'timeupdate', 'loadedmetadata']) v.addEventListener(ev, () => this.tick());
    $('play-btn').addEventListener('click', () => this.toggle());
    $('back-btn').addEventListener('click', () => this.skip(-1000));
    $('fwd-btn').addEventListener('click', () => this.skip(1000));
    for (const id of ['play-btn', 'back-btn', 'fwd-btn']) $(id).disabled = true;
  }
}
