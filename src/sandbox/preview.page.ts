import { createHash } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';

/**
 * The preview page: what the sandbox "sent", one thread per phone number, SMS and WhatsApp side by side.
 * The HTML is a fixed shell; message text only ever arrives as JSON from /sandbox/messages and is put on the page
 * with textContent, so a body holding markup is shown, never run. The CSP allows this one inline script (by hash)
 * and fetches to the sandbox itself, nothing else: no external assets, no other scripts.
 */
const SCRIPT = `
const threadsEl = document.getElementById('threads');
const filterEl = document.getElementById('filter');
const stateEl = document.getElementById('state');
// URLSearchParams would read the "+" of "?to=+1415…" as a space.
const given = /[?&]to=([^&]*)/.exec(location.search);
filterEl.value = given ? decodeURIComponent(given[1]) : '';

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function renderMessage(m) {
  const item = el('li', 'msg ' + m.channel);
  const meta = el('div', 'meta');
  meta.append(
    el('span', 'badge ' + m.channel, m.channel === 'whatsapp' ? 'WhatsApp' : 'SMS'),
    el('span', 'status ' + m.status, m.status),
    el('span', '', m.numSegments + (m.numSegments === 1 ? ' segment' : ' segments')),
    el('span', '', 'from ' + (m.from || 'messaging service')),
    el('time', '', new Date(m.dateCreated).toLocaleString()),
  );
  item.append(meta, el('p', 'body', m.body));
  if (m.errorCode !== null) item.append(el('p', 'error', 'Error ' + m.errorCode + ': ' + (m.errorMessage || '')));
  return item;
}

function renderThread(thread) {
  const section = el('section', 'thread');
  const list = el('ol');
  for (const m of thread.messages) list.append(renderMessage(m));
  section.append(el('h2', '', thread.number), list);
  return section;
}

async function refresh() {
  const to = filterEl.value.trim();
  try {
    const response = await fetch('/sandbox/messages' + (to ? '?to=' + encodeURIComponent(to) : ''));
    const { threads } = await response.json();
    threadsEl.replaceChildren(...(threads.length ? threads.map(renderThread) : [el('p', 'empty', 'No messages yet.')]));
    stateEl.textContent = 'Updated ' + new Date().toLocaleTimeString();
  } catch (error) {
    stateEl.textContent = 'Sandbox unreachable: ' + error.message;
  }
}

filterEl.addEventListener('input', () => {
  const to = filterEl.value.trim();
  history.replaceState(null, '', to ? '?to=' + encodeURIComponent(to) : location.pathname);
  refresh();
});
document.getElementById('clear').addEventListener('click', async () => {
  await fetch('/sandbox/messages', { method: 'DELETE' });
  refresh();
});
refresh();
setInterval(refresh, 2000);
`;

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d2330; }
header { display: flex; gap: 1rem; align-items: center; padding: .75rem 1.25rem; background: #1d2330; color: #fff; }
header h1 { font-size: 1.1rem; margin: 0; } header code { color: #9fd3ff; }
header input { padding: .3rem .5rem; min-width: 16rem; } #state { margin-left: auto; opacity: .7; }
main { display: grid; grid-template-columns: repeat(auto-fill, minmax(22rem, 1fr)); gap: 1rem; padding: 1rem; }
.thread { background: #fff; border-radius: 8px; padding: .5rem 1rem; box-shadow: 0 1px 3px #0002; }
.thread h2 { font-size: 1rem; margin: .25rem 0 .5rem; } ol { list-style: none; margin: 0; padding: 0; }
.msg { border-top: 1px solid #e3e5ea; padding: .5rem 0; } .msg.whatsapp .body { background: #dcf8c6; }
.body { white-space: pre-wrap; word-break: break-word; margin: .3rem 0 0; padding: .4rem .6rem; border-radius: 6px; background: #e8eefc; }
.meta { display: flex; flex-wrap: wrap; gap: .5rem; font-size: 12px; color: #5b6475; }
.badge { font-weight: 600; padding: 0 .4rem; border-radius: 4px; color: #fff; background: #3b6fd8; }
.badge.whatsapp { background: #1fa855; } .status.delivered { color: #1a7f37; }
.status.failed, .status.undelivered, .error { color: #c62828; } .error { margin: .2rem 0 0; font-size: 12px; }
.empty { color: #5b6475; }
`;

const SCRIPT_HASH = createHash('sha256').update(SCRIPT).digest('base64');

export const PREVIEW_CSP = [
  "default-src 'none'",
  `script-src 'sha256-${SCRIPT_HASH}'`,
  "style-src 'unsafe-inline'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

export function previewHtml(publicUrl?: string): string {
  const base = publicUrl ? ` <span>SDK base URL <code>${escapeHtml(publicUrl)}</code></span>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Twilio sandbox: messages</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>${STYLE}</style></head>
<body><header><h1>Twilio sandbox</h1>${base}
<input id="filter" type="search" placeholder="Filter by number, e.g. +14155550100" aria-label="Filter by number">
<button id="clear" type="button">Clear messages</button><span id="state">Loading…</span></header>
<main id="threads" aria-live="polite"></main>
<script>${SCRIPT}</script></body></html>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export const previewRoutes: FastifyPluginAsync<{ publicUrl?: string }> = async (app, { publicUrl }) => {
  const html = previewHtml(publicUrl);
  app.get('/', async (_request, reply) =>
    reply.type('text/html; charset=utf-8').header('content-security-policy', PREVIEW_CSP).send(html),
  );
};
