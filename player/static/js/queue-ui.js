// queue-ui.js — Lectern's repairs to the queue UI (asynqmon) at
// /admin/queues, whose page server/admin_queues.go rewrites to load this
// script. The UI is a prebuilt React app that Lectern cannot rebuild, so
// what it leaves out for screen readers and low vision is added to its DOM
// after each render (axe-core checks the result, browsertest/a11y_test.go):
//   - the sidebar's lists hold <div> and <a> where only <li> may be, so
//     they are not announced as lists (they are a column of links);
//   - the "…" button of each queue row has no name: it says what it does;
//   - the green "run" state text is 4.1:1 on white and 2.4:1 on the dark
//     theme's grey: it gets a green that reads at 4.5:1 or more.
// Attributes only are added; React leaves attributes it did not set alone.
(() => {
  const RUN_GREEN = 'rgb(56, 142, 60)'; // #388e3c, the UI's success text
  const MORE_ICON = /^M6 10c-1\.1 0-2 \.9-2 2s/; // the "more" (…) icon's path

  /** luminance is the relative luminance of an rgb()/rgba() colour. */
  function luminance(color) {
    const [r, g, b] = (color.match(/[\d.]+/g) || ['255', '255', '255']).slice(0, 3).map((v) => {
      const c = Number(v) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }

  /** background is the first colour painted behind node. */
  function background(node) {
    for (let n = node; n && n.nodeType === 1; n = n.parentElement) {
      const bg = getComputedStyle(n).backgroundColor;
      if (bg && !/^rgba\(.*,\s*0\)$/.test(bg) && bg !== 'transparent') return bg;
    }
    return 'rgb(255, 255, 255)';
  }

  function repairLists() {
    for (const ul of document.querySelectorAll('#root ul.MuiList-root:not([role])')) {
      if ([...ul.children].every((c) => c.tagName === 'LI')) continue;
      ul.setAttribute('role', 'none');
      for (const li of ul.querySelectorAll('li:not([role])')) li.setAttribute('role', 'none');
    }
  }

  function nameButtons() {
    for (const btn of document.querySelectorAll('#root button:not([aria-label]):not([aria-labelledby])')) {
      if (btn.textContent.trim() || btn.title) continue;
      const d = btn.querySelector('svg path')?.getAttribute('d') || '';
      if (!MORE_ICON.test(d)) continue;
      const row = btn.closest('tr');
      const what = row?.querySelector('th, td')?.textContent.trim();
      btn.setAttribute('aria-label', what ? `Actions for ${what}` : 'Actions');
      btn.setAttribute('aria-haspopup', 'menu');
    }
  }

  function raiseContrast() {
    for (const span of document.querySelectorAll('#root td span:not([data-lectern-contrast])')) {
      if (getComputedStyle(span).color !== RUN_GREEN) continue;
      const dark = luminance(background(span)) < 0.2;
      span.dataset.lecternContrast = dark ? 'light' : 'dark';
      span.style.setProperty('color', dark ? '#81c784' : '#2e7d32', 'important');
    }
  }

  let queued = false;
  function repair() {
    queued = false;
    repairLists();
    nameButtons();
    raiseContrast();
  }
  function schedule() {
    if (queued) return;
    queued = true;
    requestAnimationFrame(repair);
  }
  const start = () => {
    new MutationObserver(schedule).observe(document.body, { childList: true, subtree: true });
    // The theme (light or dark) can change without a new node.
    matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
      for (const s of document.querySelectorAll('[data-lectern-contrast]')) {
        s.style.removeProperty('color');
        delete s.dataset.lecternContrast;
      }
      setTimeout(schedule, 100);
    });
    schedule();
  };
  if (document.body) start(); else document.addEventListener('DOMContentLoaded', start);
})();
