// search.js — the search results page: asks the search API for the query
// in the page's form and shows the hits grouped by lesson, each a link to
// its moment with what matched (title, chapter, captions, a comment…), the
// time and a snippet. Snippets come as parts, and the matched words are
// wrapped in <mark> elements built here: user text is only ever set as
// text, never parsed as HTML.
import './common.js';
import { api, clock, el, pageData } from './api.js';

const data = pageData();
const $ = (id) => document.getElementById(id);
const results = $('search-results');
const status = $('search-status');
const more = $('search-more');

const KIND = {
  title: 'Title',
  description: 'Description',
  chapter: 'Chapter',
  caption: 'Captions',
  comment: 'Comment',
  question: 'Question',
  note: 'Note',
};

/** groups maps a lesson id to the list its hits go in, in order of first hit. */
const groups = new Map();
let cursor = null;
let shown = 0;

/** snippet turns the API's snippet parts into text and <mark> nodes. */
function snippet(parts) {
  return (parts || []).map((p) => (p.match ? el('mark', {}, p.text) : document.createTextNode(p.text)));
}

/** timed reports whether a hit belongs to a moment (titles and descriptions do not). */
const timed = (h) => h.kind !== 'title' && h.kind !== 'description';

function hitItem(h) {
  const kind = KIND[h.kind] || h.kind;
  const label = h.lang ? `${kind} (${h.lang})` : kind;
  return el('li', { class: 'search-hit' },
    el('a', { class: 'search-hit-link', href: h.url },
      el('span', { class: `search-kind search-kind-${h.kind}` }, label),
      timed(h) ? el('span', { class: 'search-time' }, el('span', { class: 'visually-hidden' }, 'at '), clock(h.at_ms)) : null,
      el('span', { class: 'search-snippet' }, snippet(h.snippet))));
}

/** groupFor returns the hit list of h's lesson, adding its card when new. */
function groupFor(h) {
  let list = groups.get(h.lesson_id);
  if (list) return list;
  const id = `search-lesson-${groups.size + 1}`;
  list = el('ol', { class: 'plain-list search-hits' });
  results.append(el('section', { class: 'card search-group', 'aria-labelledby': id },
    el('h2', { class: 'search-group-title', id },
      el('a', { href: `/watch/${encodeURIComponent(h.lesson_id)}` }, h.lesson_title)),
    data.course_id ? null : el('p', { class: 'muted small search-course' }, h.course_title),
    list));
  groups.set(h.lesson_id, list);
  return list;
}

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

async function load() {
  const params = new URLSearchParams({ q: data.q });
  if (data.course_id) params.set('course_id', data.course_id);
  if (cursor) params.set('cursor', cursor);
  more.disabled = true;
  status.classList.remove('is-error');
  if (!shown) status.textContent = 'Searching…';
  let res;
  try {
    res = await api('GET', `/api/v1/search?${params}`);
  } catch (err) {
    status.textContent = err.message;
    status.classList.add('is-error');
    more.disabled = false;
    return;
  }
  let first = null;
  for (const h of res.hits || []) {
    const item = hitItem(h);
    groupFor(h).append(item);
    first = first || item;
  }
  shown += (res.hits || []).length;
  cursor = res.next_cursor;
  more.hidden = !cursor;
  more.disabled = false;
  status.textContent = shown === 0
    ? `Nothing found for “${data.q}”. Check the spelling, or try fewer words.`
    : `${plural(shown, 'result', 'results')} in ${plural(groups.size, 'lesson', 'lessons')}${cursor ? '; more can be loaded' : ''}.`;
  // After "More results", keyboard users continue from the first new hit.
  if (first && shown > (res.hits || []).length) first.querySelector('a').focus();
}

more.addEventListener('click', load);
if (data.q) load();
