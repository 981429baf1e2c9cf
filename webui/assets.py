"""The page's CSS and the one page script (installed by the source view's `js_on_load`).

The script handles three kinds of links that `render.py` writes into answers:
  a.cite-ref  [n]        open citation card n of that answer, flash it, and show its clause in the source view
  a.view-src  查看原文    load the document into the source view on screen (server function), scroll to the clause
  a.copy-ans  复制        copy the answer with its sources as plain text (the hidden <pre> of that answer)
"""

SOURCE_VIEW_JS = r"""
window.__pqa = { server: server, props: props, element: element };
window.__pqaViews = (window.__pqaViews || []).filter((v) => v.element !== element && v.element.isConnected);
window.__pqaViews.push(window.__pqa);
if (!window.__pqaInstalled) {
  window.__pqaInstalled = true;
  // Several tabs have a source view (chat, targets): a link opens the one that is on screen.
  const currentView = () => {
    const shown = window.__pqaViews.filter((v) => v.element.isConnected && v.element.offsetParent !== null);
    return shown.length ? shown[shown.length - 1] : window.__pqa;
  };
  const openSource = (href) => {
    const p = new URLSearchParams(href.replace(/^#/, ''));
    const q = currentView();
    const old = q.element.querySelector('#src-mark');
    q.element.classList.add('src-loading');
    q.server.source_view([p.get('src'), parseInt(p.get('s'), 10), parseInt(p.get('e'), 10)]).then((html) => {
      q.props.value = html;
      const scroll = (tries) => {
        const m = q.element.querySelector('#src-mark');
        if (m && (m !== old || tries <= 0)) {
          q.element.classList.remove('src-loading');
          const box = q.element.querySelector('.src-text');
          if (box) { box.scrollTop = Math.max(0, m.offsetTop - box.offsetTop - box.clientHeight / 3); }
          m.scrollIntoView({ block: 'nearest' });
          m.classList.remove('flash'); void m.offsetWidth; m.classList.add('flash');
        } else if (tries > -1) {
          setTimeout(() => scroll(tries - 1), 40);
        } else {
          q.element.classList.remove('src-loading');
        }
      };
      requestAnimationFrame(() => scroll(25));
    }).catch(() => q.element.classList.remove('src-loading'));
  };
  const copyText = (a, text) => {
    window.__pqaLastCopy = text;
    const done = () => {
      const label = a.textContent;
      a.textContent = '✅ 已复制';
      setTimeout(() => { a.textContent = label; }, 1500);
    };
    const fallback = () => {
      const t = document.createElement('textarea');
      t.value = text; t.setAttribute('readonly', ''); t.style.position = 'fixed'; t.style.opacity = '0';
      document.body.appendChild(t); t.select();
      try { document.execCommand('copy'); done(); } finally { t.remove(); }
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, fallback);
    } else {
      fallback();
    }
  };
  document.addEventListener('click', (ev) => {
    const a = ev.target.closest ? ev.target.closest('a.cite-ref, a.view-src, a.copy-ans') : null;
    if (!a) return;
    ev.preventDefault();
    ev.stopPropagation();
    const href = a.getAttribute('href') || '';
    if (a.classList.contains('cite-ref')) {
      const card = document.getElementById(href.slice(1));
      if (!card) return;
      card.open = true;
      card.classList.remove('flash'); void card.offsetWidth; card.classList.add('flash');
      card.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
      const src = card.querySelector('a.view-src');
      if (src) openSource(src.getAttribute('href'));
    } else if (a.classList.contains('view-src')) {
      openSource(href);
    } else {
      const pre = document.getElementById(href.slice(1));
      if (pre) copyText(a, pre.textContent);
    }
  }, true);
}
"""

CSS = r"""
.gradio-container { max-width: 1480px !important; margin: 0 auto; }
#app-header { padding: 4px 2px 0; }
#app-header h1 { font-size: 1.45rem; margin: 0; font-weight: 650; letter-spacing: .02em; }
#app-header .sub { color: var(--body-text-color-subdued); font-size: .92rem; margin-top: 2px; }
.muted { color: var(--body-text-color-subdued); font-size: .86rem; }

/* chat */
#chat .message { font-size: 15px; }
.q-text { white-space: pre-wrap; }
.ans { line-height: 1.75; }
.ans-text { white-space: pre-wrap; }
.ans-pending .dots { color: var(--body-text-color-subdued); }
.ans-streaming .cursor { display: inline-block; width: .5em; height: 1em; margin-left: 2px; vertical-align: -2px;
  background: var(--color-accent); animation: pqa-blink 1s steps(2) infinite; }
@keyframes pqa-blink { 50% { opacity: 0; } }
.ans-refused .ans-text { color: #92400e; font-weight: 600; }
.ans-error { color: #b91c1c; }
.ans-notice { margin-top: 4px; font-size: .86rem; color: var(--body-text-color-subdued); }
a.cite-ref { display: inline-block; margin: 0 1px; padding: 0 4px; border-radius: 4px; font-size: .78em;
  line-height: 1.4; vertical-align: 2px; font-weight: 600; text-decoration: none !important;
  color: #1d4ed8 !important; background: #dbeafe; cursor: pointer; }
a.cite-ref:hover { background: #bfdbfe; }
.cite-list { margin-top: 10px; }
.cite-label, .related-label { font-size: .8rem; color: var(--body-text-color-subdued); margin-bottom: 4px;
  font-weight: 600; letter-spacing: .05em; }
details.cite-card { border: 1px solid var(--border-color-primary); border-radius: 8px; margin: 6px 0;
  background: var(--background-fill-secondary); overflow: hidden; }
details.cite-card > summary { cursor: pointer; padding: 6px 10px; list-style: none; font-size: .9rem; line-height: 1.5; }
details.cite-card > summary::-webkit-details-marker { display: none; }
details.cite-card > summary::before { content: '▸'; display: inline-block; width: 1em; color: var(--body-text-color-subdued); }
details.cite-card[open] > summary::before { content: '▾'; }
.cite-n { color: #1d4ed8; font-weight: 700; margin-right: 4px; }
.cite-title { font-weight: 600; }
.cite-sec { color: var(--body-text-color-subdued); font-size: .84rem; }
.cite-card .cite-sec { display: block; margin-left: 1em; }
.cite-sec::before { content: '› '; }
.rel-head .cite-sec { margin-left: 6px; }
.cite-body { padding: 4px 12px 10px 26px; border-top: 1px dashed var(--border-color-primary); }
.cite-context { white-space: pre-wrap; font-size: .92rem; color: var(--body-text-color); }
.cite-table { overflow-x: auto; }
table.cite-tbl { border-collapse: collapse; font-size: .88rem; margin: 2px 0 6px; }
table.cite-tbl th, table.cite-tbl td { border: 1px solid var(--border-color-primary); padding: 3px 8px; text-align: left; }
.ocr-flag { color: #b45309; font-weight: 550; }
table.cite-tbl tr.cite-row td { background: #fef9c3; font-weight: 550; }
mark.cite-quote, mark.src-mark { background: #fde68a; color: inherit; padding: 1px 0; border-radius: 2px;
  box-shadow: 0 2px 0 #f59e0b; }
.cite-meta { display: flex; justify-content: space-between; gap: 12px; margin-top: 6px; font-size: .8rem;
  color: var(--body-text-color-subdued); }
a.view-src, a.copy-ans { color: #1d4ed8 !important; text-decoration: none !important; cursor: pointer; white-space: nowrap; }
a.view-src:hover, a.copy-ans:hover { text-decoration: underline !important; }
details.cite-card.flash { animation: pqa-flash 1.4s ease-out; }
mark.flash { animation: pqa-flash 1.4s ease-out; }
@keyframes pqa-flash { 0% { box-shadow: 0 0 0 3px #f59e0b; } 100% { box-shadow: 0 0 0 0 transparent; } }
.related ul { margin: 0; padding-left: 0; list-style: none; }
.related li { border-left: 3px solid #fcd34d; padding: 4px 10px; margin: 6px 0; background: var(--background-fill-secondary); }
.rel-head { font-size: .9rem; }
.rel-text { font-size: .88rem; white-space: pre-wrap; }
.ans-tools { display: flex; justify-content: space-between; gap: 12px; margin-top: 8px; font-size: .82rem; }
pre.plain-text { display: none; }

/* source view */
#source-view { min-height: 200px; }
.src-view { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 10px 12px;
  background: var(--background-fill-primary); }
.src-empty { padding: 28px 16px; text-align: center; }
.src-head { border-bottom: 1px solid var(--border-color-primary); padding-bottom: 6px; margin-bottom: 6px; }
.src-title { font-weight: 650; font-size: 1rem; line-height: 1.5; }
pre.src-text { white-space: pre-wrap; word-break: break-word; font-family: inherit; font-size: .9rem; line-height: 1.75;
  max-height: 520px; overflow-y: auto; margin: 0; padding: 0 4px 0 0; background: transparent; border: none; }
.src-loading { opacity: .6; }

/* documents */
#doc-table table.doc-table, #doc-table table.doc-table tr, #doc-table table.doc-table th,
#doc-table table.doc-table td { border: none; }
table.doc-table { width: 100%; border-collapse: collapse; font-size: .9rem; margin: 0 0 6px; }
table.doc-table th { text-align: left; font-weight: 600; white-space: nowrap; font-size: .82rem; color: var(--body-text-color-subdued);
  background: var(--background-fill-secondary); }
#doc-table table.doc-table th, #doc-table table.doc-table td { padding: 7px 10px;
  border-bottom: 1px solid var(--border-color-primary); vertical-align: top; }
table.doc-table .num { text-align: right; }
table.doc-table .nowrap { white-space: nowrap; }
table.doc-table .doc-title { font-weight: 550; line-height: 1.5; }
table.doc-table .mono { font-family: var(--font-mono); font-size: .76rem; color: var(--body-text-color-subdued); }
#examples { flex-wrap: wrap; gap: 8px; }
#examples > button { flex: 0 1 auto !important; width: auto !important; min-width: 0 !important; }
.sec-tree details.sec { margin: 2px 0 2px 14px; }
.sec-tree > details.sec { margin-left: 0; }
.sec-tree summary { cursor: pointer; padding: 3px 0; font-size: .92rem; }
.sec-tree summary:hover { color: #1d4ed8; }
.sec-text { white-space: pre-wrap; font-size: .88rem; line-height: 1.7; padding: 4px 10px; margin: 2px 0 6px;
  border-left: 3px solid #bfdbfe; background: var(--background-fill-secondary); max-height: 360px; overflow-y: auto; }
#upload-status { font-size: .92rem; white-space: pre-wrap; }

/* comparison tables and targets */
table.ans-table { border-collapse: collapse; width: 100%; margin: 6px 0; font-size: .9rem; line-height: 1.6; }
table.ans-table th, table.ans-table td { border: 1px solid var(--border-color-primary); padding: 5px 8px;
  vertical-align: top; text-align: left; }
table.ans-table thead th { background: var(--background-fill-secondary); white-space: nowrap; }
table.ans-table th.row-label { white-space: nowrap; font-weight: 600; }
table.ans-table td.cell-none { color: var(--body-text-color-subdued); }
.targets-table td.target-sec { min-width: 9em; font-size: .82rem; }
.targets-table td.target-measure { min-width: 7em; }
.targets-table a.target-link { color: inherit !important; text-decoration: none !important; cursor: pointer; }
.targets-table a.target-link:hover { color: #1d4ed8 !important; text-decoration: underline !important; }
"""
