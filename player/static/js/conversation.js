// conversation.js — questions, notes and comments anchored to moments of
// the lesson, beside the player: markers on the timeline coloured by kind
// and status, a list that follows playback, a composer that captures the
// current time (editable) and a visibility, threads with replies, resolve
// and accept for teachers, and live updates from the lesson's event
// stream. Every text from users is set as text, never as HTML.
import { announce, api, clock, el, launchToken, parseClock, relTime, toast } from './api.js';

const $ = (id) => document.getElementById(id);
const NEAR_MS = 15000;
// A refused event stream is tried again after about this long, doubling
// up to the most.
const STREAM_RETRY_MS = 3000;
const STREAM_RETRY_MAX_MS = 60000;
const KIND_LABEL = { question: 'Question', note: 'Note', comment: 'Comment' };
const VIS_LABEL = { teachers: 'Teachers only', private: 'Only me' };

export class Conversation {
  constructor(player, data) {
    this.player = player;
    this.lessonID = data.lesson_id;
    this.userID = data.user_id;
    this.teaching = !!data.teaching;
    this.base = `/api/v1/lessons/${encodeURIComponent(this.lessonID)}`;
    this.entries = new Map(); // id → thread's first entry
    this.threads = new Map(); // id → replies (loaded threads only)
    this.open = new Set(); // ids of expanded threads
    this.kind = 'question';
  }

  start() {
    $('ask-btn').addEventListener('click', () => this.compose('question'));
    $('note-btn').addEventListener('click', () => this.compose('note'));
    $('conv-cancel').addEventListener('click', () => this.closeComposer(true));
    // Escape leaves the form (what was typed is dropped, as with Cancel).
    $('conv-form').addEventListener('keydown', (e) => {
      if (e.key === 'Escape') { e.preventDefault(); this.closeComposer(true); }
    });
    $('conv-form').addEventListener('submit', (e) => { e.preventDefault(); this.post(); });
    this.load();
    this.listen();
  }

  playerReady() {
    this.player.video.addEventListener('timeupdate', () => this.follow());
    this.player.video.addEventListener('loadedmetadata', () => this.loadMarkers());
    if (this.player.duration) this.loadMarkers();
  }

  /** load reads every thread's first entry, a page at a time. */
  async load() {
    const all = [];
    let cursor = '';
    try {
      for (let i = 0; i < 50; i++) {
        const page = await api('GET', `${this.base}/comments?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        all.push(...page.comments);
        if (!page.next_cursor) break;
        cursor = page.next_cursor;
      }
    } catch (err) {
      toast(err.message, true);
    }
    for (const c of all) this.entries.set(c.id, c);
    this.render();
  }

  sorted() {
    return [...this.entries.values()].sort((a, b) => a.at_ms - b.at_ms || a.created_at.localeCompare(b.created_at));
  }

  render() {
    const list = $('conv-list');
    list.replaceChildren(...this.sorted().map((c) => this.renderEntry(c)));
    $('conv-empty').hidden = this.entries.size > 0;
    this.follow(true);
  }

  renderEntry(c) {
    const status = c.kind === 'question' ? c.status : '';
    const li = el('li', { class: `entry kind-${c.kind}${status ? ` status-${status}` : ''}`, id: `entry-${c.id}`, dataset: { at: String(c.at_ms) } });
    const head = el('div', { class: 'entry-head' },
      el('button', { type: 'button', class: 'entry-time', title: 'Play from here', 'aria-label': `Play from ${clock(c.at_ms)}`,
        onclick: () => { this.player.seek(c.at_ms); this.player.video.play().catch(() => {}); } }, clock(c.at_ms)),
      c.kind !== 'comment' ? el('span', { class: `badge badge-${c.kind}` }, KIND_LABEL[c.kind]) : null,
      status ? el('span', { class: `badge badge-${status}` }, status[0].toUpperCase() + status.slice(1)) : null,
      VIS_LABEL[c.visibility] ? el('span', { class: `badge badge-${c.visibility}` }, VIS_LABEL[c.visibility]) : null,
      el('span', { class: 'entry-author' }, c.author_name || 'Someone'),
      c.author_role === 'teacher' ? el('span', { class: 'badge badge-teacher' }, 'Teacher') : null,
      el('time', { datetime: c.created_at, title: new Date(c.created_at).toLocaleString() }, relTime(c.created_at)));
    li.append(head, c.deleted ? el('p', { class: 'entry-body entry-deleted' }, 'Deleted') : el('p', { class: 'entry-body' }, c.body));
    li.append(this.renderTools(c));
    if (this.open.has(c.id)) li.append(this.renderThread(c));
    return li;
  }

  renderTools(c) {
    const tools = el('div', { class: 'entry-tools' });
    const n = c.reply_count || 0;
    const opened = this.open.has(c.id);
    tools.append(el('button', { type: 'button', class: 'linkish', 'aria-expanded': String(opened),
      onclick: () => this.toggleThread(c.id) }, opened ? 'Hide replies' : n ? `${n} ${n === 1 ? 'reply' : 'replies'}` : 'Reply'));
    if (c.kind === 'question' && !c.deleted) {
      const mine = c.author_id === this.userID;
      if ((mine || this.teaching) && c.status !== 'resolved') {
        tools.append(el('button', { type: 'button', class: 'linkish', onclick: () => this.update(c.id, { status: 'resolved' }) }, 'Mark resolved'));
      }
      if ((mine || this.teaching) && c.status === 'resolved') {
        tools.append(el('button', { type: 'button', class: 'linkish', onclick: () => this.update(c.id, { status: 'open' }) }, 'Reopen'));
      }
    }
    if (c.author_id === this.userID && !c.deleted) {
      tools.append(el('button', { type: 'button', class: 'linkish', onclick: () => this.remove(c.id) }, 'Delete'));
    }
    return tools;
  }

  renderThread(c) {
    const box = el('div', { class: 'thread' });
    const replies = this.threads.get(c.id);
    if (!replies) {
      box.append(el('p', { class: 'muted small' }, 'Loading replies…'));
      return box;
    }
    const list = el('ol', { class: 'replies' }, replies.map((r) => {
      const accepted = c.accepted_id === r.id;
      const item = el('li', { class: `reply${accepted ? ' is-accepted' : ''}`, id: `reply-${r.id}` },
        el('div', { class: 'entry-head' },
          el('span', { class: 'entry-author' }, r.author_name || 'Someone'),
          r.author_role === 'teacher' ? el('span', { class: 'badge badge-teacher' }, 'Teacher') : null,
          accepted ? el('span', { class: 'badge badge-resolved' }, '✓ Accepted answer') : null,
          el('time', { datetime: r.created_at }, relTime(r.created_at))),
        r.deleted ? el('p', { class: 'entry-body entry-deleted' }, 'Deleted') : el('p', { class: 'entry-body' }, r.body));
      if (this.teaching && c.kind === 'question' && !r.deleted) {
        item.append(el('div', { class: 'entry-tools' }, el('button', { type: 'button', class: 'linkish',
          onclick: () => this.update(c.id, { accepted_id: accepted ? '' : r.id }) }, accepted ? 'Withdraw acceptance' : 'Accept answer')));
      }
      return item;
    }));
    const input = el('textarea', { rows: '1', maxlength: '5000', 'aria-label': 'Your reply', placeholder: 'Write a reply…', required: true });
    const form = el('form', { class: 'reply-form', onsubmit: async (e) => {
      e.preventDefault();
      if (!input.value.trim()) return;
      try {
        await api('POST', `${this.base}/comments`, { parent_id: c.id, body: input.value });
        input.value = '';
        await this.loadThread(c.id);
      } catch (err) { toast(err.message, true); }
    } }, input, el('button', { type: 'submit', class: 'btn btn-small' }, 'Reply'));
    box.append(list, c.deleted ? '' : form);
    return box;
  }

  async toggleThread(id) {
    if (this.open.has(id)) this.open.delete(id);
    else {
      this.open.add(id);
      this.loadThread(id);
    }
    this.rerender(id);
  }

  async loadThread(id) {
    try {
      const t = await api('GET', `/api/v1/comments/${encodeURIComponent(id)}`);
      this.entries.set(t.comment.id, t.comment);
      this.threads.set(id, t.replies || []);
    } catch (err) { toast(err.message, true); }
    this.rerender(id);
  }

  rerender(id) {
    const c = this.entries.get(id);
    const old = $(`entry-${id}`);
    if (!c || !old) { this.render(); return; }
    const focusedReply = old.contains(document.activeElement) && document.activeElement.tagName === 'TEXTAREA';
    const draft = focusedReply ? document.activeElement.value : '';
    const fresh = this.renderEntry(c);
    old.replaceWith(fresh);
    if (focusedReply) {
      const ta = fresh.querySelector('textarea');
      if (ta) { ta.value = draft; ta.focus(); }
    }
  }

  async update(id, change) {
    try {
      const c = await api('PATCH', `/api/v1/comments/${encodeURIComponent(id)}`, change);
      this.entries.set(c.id, c);
      this.rerender(c.id);
      this.loadMarkers();
    } catch (err) { toast(err.message, true); }
  }

  async remove(id) {
    if (!confirm('Delete this entry?')) return;
    try {
      await api('DELETE', `/api/v1/comments/${encodeURIComponent(id)}`);
      this.entries.delete(id);
      this.render();
      this.loadMarkers();
    } catch (err) { toast(err.message, true); }
  }

  /** compose opens the form with the current position, pausing the video. */
  compose(kind) {
    this.kind = kind;
    this.opener = $(kind === 'note' ? 'note-btn' : 'ask-btn');
    const form = $('conv-form');
    form.hidden = false;
    this.player.video.pause();
    $('conv-at').value = clock(this.player.currentMS);
    const vis = kind === 'note' ? 'private' : 'class';
    form.querySelector(`input[name=visibility][value=${vis}]`).checked = true;
    $('conv-body-label').textContent = kind === 'note' ? 'Your note' : 'Your question';
    $('conv-submit').textContent = kind === 'note' ? 'Save note' : 'Post question';
    form.querySelector('.form-error').hidden = true;
    $('conv-body').focus();
  }

  /** closeComposer hides the form; refocus gives the focus back to the button that opened it. */
  closeComposer(refocus = false) {
    $('conv-form').hidden = true;
    $('conv-body').value = '';
    if (refocus) this.opener?.focus();
  }

  async post() {
    const form = $('conv-form');
    const err = form.querySelector('.form-error');
    const at = parseClock($('conv-at').value);
    const body = $('conv-body').value.trim();
    const fail = (m) => { err.textContent = m; err.hidden = false; };
    if (Number.isNaN(at)) return fail('Write the moment as minutes and seconds, like 1:05.');
    if (!body) return fail(this.kind === 'note' ? 'Write your note first.' : 'Write your question first.');
    const visibility = form.querySelector('input[name=visibility]:checked')?.value || 'class';
    $('conv-submit').disabled = true;
    try {
      const c = await api('POST', `${this.base}/comments`, { at_ms: at, body, kind: this.kind, visibility });
      this.entries.set(c.id, c);
      this.closeComposer(true);
      this.render();
      this.flash(c.id);
      this.loadMarkers();
      toast(this.kind === 'note' ? 'Note saved.' : 'Question posted.');
    } catch (e) {
      fail(e.message);
    } finally {
      $('conv-submit').disabled = false;
    }
  }

  flash(id) {
    const node = $(`entry-${id}`);
    if (!node) return;
    node.classList.add('is-new');
    this.scrollTo(node);
    setTimeout(() => node.classList.remove('is-new'), 2500);
  }

  scrollTo(node) {
    const list = $('conv-list');
    list.scrollTop = node.offsetTop - list.offsetTop - list.clientHeight / 3;
  }

  /** follow highlights entries near the playhead and keeps them in view. */
  follow(force = false) {
    const t = this.player.currentMS;
    let nearest = null;
    for (const node of $('conv-list').children) {
      const at = Number(node.dataset.at);
      const near = Math.abs(at - t) <= NEAR_MS;
      node.classList.toggle('is-near', near);
      if (near && (!nearest || Math.abs(at - t) < Math.abs(Number(nearest.dataset.at) - t))) nearest = node;
    }
    const busy = $('conversation').contains(document.activeElement) && document.activeElement !== document.body;
    if (nearest && $('conv-follow').checked && !busy && (force || nearest !== this.lastNearest)) this.scrollTo(nearest);
    this.lastNearest = nearest;
  }

  /** loadMarkers draws the timeline's dots, one per busy stretch. */
  async loadMarkers() {
    const d = (this.player.video.duration || this.player.duration || 0) * 1000;
    if (!d) return;
    const bucket = Math.max(1000, Math.round(d / 150));
    let m;
    try { m = await api('GET', `${this.base}/markers?bucket_ms=${bucket}`); } catch { return; }
    const layer = $('timeline-markers');
    layer.replaceChildren(...m.buckets.map((b) => {
      const q = b.questions || {};
      const k = b.kinds || {};
      let cls = 'marker-comment';
      let label = `${b.count} ${b.count === 1 ? 'entry' : 'entries'}`;
      if (k.question) {
        const st = q.open ? 'open' : q.answered ? 'answered' : 'resolved';
        cls = `marker-question status-${st}`;
        label = `${k.question} question${k.question > 1 ? 's' : ''} (${[q.open && `${q.open} open`, q.answered && `${q.answered} answered`, q.resolved && `${q.resolved} resolved`].filter(Boolean).join(', ')})`;
      } else if (k.note) {
        cls = 'marker-note';
        label = `${k.note} note${k.note > 1 ? 's' : ''}`;
      }
      return el('button', { type: 'button', class: `marker ${cls}`, style: `left:${Math.min(100, (b.start_ms / d) * 100)}%`,
        title: `${clock(b.start_ms)} · ${label}`, 'aria-label': `${label} at ${clock(b.start_ms)}`, tabindex: '-1',
        dataset: { startMs: String(b.start_ms) },
        onclick: (e) => { e.stopPropagation(); this.player.seek(b.start_ms); this.follow(true); } });
    }));
  }

  /**
   * announceNew says, politely, what someone else just wrote: a question, a
   * comment, a reply, or a teacher's answer to a question.
   */
  announceNew(c) {
    if (c.deleted) return;
    const parent = c.parent_id ? this.entries.get(c.parent_id) : null;
    let what = KIND_LABEL[c.kind] || 'Comment';
    if (parent) what = parent.kind === 'question' && c.author_role === 'teacher' ? 'Answer' : 'Reply';
    const at = parent ? parent.at_ms : c.at_ms;
    const to = parent ? ` to ${parent.author_id === this.userID ? 'your' : 'the'} ${(KIND_LABEL[parent.kind] || 'comment').toLowerCase()}` : '';
    announce($('conv-announce'), `New ${what.toLowerCase()} from ${c.author_name || 'someone'}${to} at ${clock(at)}: ${c.body}`);
  }

  /** listen applies changes from the lesson's event stream as they happen. */
  listen() {
    // An event stream cannot carry the launch token of a page inside an
    // LMS whose cookie is blocked; such a page sees changes on reload.
    if (!window.EventSource || launchToken()) return;
    const parse = (e) => { try { return JSON.parse(e.data); } catch { return null; } };
    const changed = (c) => {
      if (!c) return;
      if (c.parent_id) {
        // A reply: show it in its thread, opening the thread so the asker sees the answer.
        const known = this.threads.get(c.parent_id) || [];
        const i = known.findIndex((r) => r.id === c.id);
        if (i >= 0) known[i] = c; else known.push(c);
        this.threads.set(c.parent_id, known);
        this.open.add(c.parent_id);
        this.rerender(c.parent_id);
        if (c.author_id !== this.userID) {
          this.flash(c.parent_id);
          if (i < 0) this.announceNew(c);
        }
      } else {
        const isNew = !this.entries.has(c.id);
        this.entries.set(c.id, c);
        if (isNew) {
          this.render();
          if (c.author_id !== this.userID) { this.flash(c.id); this.announceNew(c); }
        } else this.rerender(c.id);
      }
      clearTimeout(this.markerTimer);
      this.markerTimer = setTimeout(() => this.loadMarkers(), 300);
      // An answer or a new question may change the navigation's counts (nav.js).
      document.dispatchEvent(new CustomEvent('lectern:changed'));
    };
    // The browser reconnects by itself after a network error, but not when
    // the server refuses the stream (too many open for this account, or
    // the server is busy): then try again later, backing off, and catch up
    // on what changed meanwhile once connected.
    let stopped = false, missed = false, backoff = STREAM_RETRY_MS;
    const connect = () => {
      const es = new EventSource(`${this.base}/events`);
      this.events = es;
      es.addEventListener('open', () => {
        backoff = STREAM_RETRY_MS;
        if (missed) {
          missed = false;
          this.load();
          this.loadMarkers();
          document.dispatchEvent(new CustomEvent('lectern:changed'));
        }
      });
      es.addEventListener('error', () => {
        if (stopped || es.readyState !== EventSource.CLOSED) return;
        missed = true;
        const wait = backoff * (0.75 + Math.random() / 2);
        backoff = Math.min(backoff * 2, STREAM_RETRY_MAX_MS);
        this.retryTimer = setTimeout(connect, wait);
      });
      es.addEventListener('comment.created', (e) => changed(parse(e)));
      es.addEventListener('comment.updated', (e) => changed(parse(e)));
      es.addEventListener('comment.deleted', (e) => changed(parse(e)));
      es.addEventListener('session_ended', () => { stopped = true; es.close(); });
    };
    window.addEventListener('pagehide', () => {
      stopped = true;
      clearTimeout(this.retryTimer);
      this.events.close();
    });
    connect();
  }
}
