// join.js — the join link's page: join the course it names, or, when the
// link is wrong, the one whose code is typed in.
import './common.js';
import { api, bindForm } from './api.js';

async function join(code) {
  const c = await api('POST', '/api/v1/courses/join', { code });
  location.assign('/courses/' + encodeURIComponent(c.id));
}

const offer = document.getElementById('join-link-form');
bindForm(offer, () => join(offer.dataset.code));
bindForm(document.getElementById('join-form'), (f) => join(f.code));
