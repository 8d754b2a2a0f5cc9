// searchbox.js — the "/" shortcut of every page: it moves the focus to the
// page's own search field (the search page's, the course page's) or else
// to the one in the header, unless the person is typing somewhere.
document.addEventListener('keydown', (e) => {
  if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
  const t = e.target;
  if (t instanceof Element && (t.closest('input, textarea, select, [contenteditable]:not([contenteditable="false"])') || t.closest('dialog[open]'))) return;
  const box = document.querySelector('[data-search-primary]') || document.getElementById('top-search');
  if (!box) return;
  e.preventDefault();
  box.focus();
  box.select();
});
