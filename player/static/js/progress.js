// progress.js — watch progress from the player: the ranges actually
// played are collected and sent every ~10 s as idempotent heartbeats
// (session, sequence number, position, ranges), on pause, and once more
// with sendBeacon when the page is hidden. It also offers to resume where
// the viewer left off.
import { api, clock, launchToken } from './api.js';

const BEAT_EVERY_MS = 10000;
// A jump in currentTime larger than this between two samples is a seek,
// not playing.
const MAX_STEP_S = 2.5;

export class Progress {
  constructor(player, lessonID) {
    this.player = player;
    this.video = player.video;
    this.url = `/api/v1/lessons/${encodeURIComponent(lessonID)}/progress`;
    this.session = crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2);
    this.seq = 0;
    this.ranges = []; // closed ranges not yet sent, [startMS, endMS]
    this.open = null; // the range being played, [startMS, endMS]
    this.last = null; // currentTime at the previous sample, seconds
    this.dirty = false;
  }

  start() {
    const v = this.video;
    v.addEventListener('timeupdate', () => this.sample());
    v.addEventListener('seeking', () => this.cut());
    v.addEventListener('pause', () => { this.sample(); this.beat(); });
    v.addEventListener('ended', () => { this.sample(); this.beat(); });
    this.timer = setInterval(() => this.beat(), BEAT_EVERY_MS);
    const final = () => { this.sample(); this.beat(true); };
    window.addEventListener('pagehide', final);
    document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'hidden') final(); });
  }

  /** sample extends the played range while the video advances normally. */
  sample() {
    const v = this.video;
    const t = v.currentTime;
    if (v.paused && !v.ended && this.last === null) return;
    if (this.last !== null && t >= this.last && t - this.last <= MAX_STEP_S * Math.max(1, v.playbackRate)) {
      if (!this.open) this.open = [Math.round(this.last * 1000), Math.round(t * 1000)];
      else this.open[1] = Math.round(t * 1000);
      this.dirty = true;
    } else if (this.open) {
      this.cut();
    }
    this.last = v.paused ? null : t;
    if (v.paused && this.open) this.cut();
  }

  /** cut closes the open range (a seek, a pause). */
  cut() {
    if (this.open && this.open[1] > this.open[0]) this.ranges.push(this.open);
    this.open = null;
    this.last = null;
  }

  /** beat sends what was played since the last beat. */
  beat(final = false) {
    const ranges = this.ranges.slice();
    if (this.open && this.open[1] > this.open[0]) ranges.push(this.open.slice());
    if (!ranges.length && !this.dirty && !final) return;
    const body = {
      session_id: this.session,
      seq: ++this.seq,
      position_ms: Math.round(this.video.currentTime * 1000),
      ranges,
    };
    this.ranges = [];
    if (this.open) this.open = [this.open[1], this.open[1]];
    this.dirty = false;
    // A beacon cannot carry the launch token of a page inside an LMS: a
    // keepalive fetch, which outlives the page too, can.
    if (final && navigator.sendBeacon && !launchToken()) {
      navigator.sendBeacon(this.url, new Blob([JSON.stringify(body)], { type: 'text/plain' }));
      return;
    }
    api('PUT', this.url, body, { keepalive: final }).then((p) => this.onSaved?.(p)).catch(() => {
      // Put the ranges back for the next beat; the server merges overlaps.
      this.ranges.unshift(...ranges);
    });
  }

  /** offerResume shows the resume prompt when there is a saved position. */
  async offerResume() {
    let p;
    try { p = await api('GET', this.url); } catch { return; }
    const d = p.duration_ms || this.player.duration * 1000;
    const at = p.position_ms || 0;
    // Near either end there is nothing to resume: within 5 s, or a tenth
    // of a short lesson.
    const edge = Math.min(5000, d ? d / 10 : 5000);
    if (at < edge || (d && at > d - edge)) return;
    const box = document.getElementById('resume-prompt');
    document.getElementById('resume-text').textContent = `Resume where you left off, at ${clock(at)}?`;
    box.dataset.positionMs = String(at);
    box.hidden = false;
    const bigPlay = document.getElementById('big-play');
    bigPlay.hidden = true;
    document.getElementById('resume-yes').focus({ preventScroll: true });
    // Closing gives the focus it held to the play button, never to the page.
    const close = () => {
      const had = box.contains(document.activeElement);
      box.hidden = true;
      if (had) document.getElementById('play').focus({ preventScroll: true });
    };
    box.onkeydown = (e) => { if (e.key === 'Escape') { e.preventDefault(); close(); bigPlay.hidden = false; } };
    document.getElementById('resume-yes').onclick = () => { close(); this.player.seek(at); this.video.play().catch(() => {}); };
    document.getElementById('resume-no').onclick = () => { close(); this.player.seek(0); this.video.play().catch(() => {}); };
    this.video.addEventListener('play', close, { once: true });
  }
}
