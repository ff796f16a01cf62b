// A small Markdown renderer for asset descriptions, which come from ingested artifacts and are
// untrusted. It builds DOM nodes only (never innerHTML): headings, paragraphs, lists, code
// blocks, `code`, **bold**, *emphasis* (or _emphasis_, not inside a word such as snake_case)
// and [links](https://...). Links go to http(s) URLs only;
// anything else (javascript:, data:, relative tricks) stays plain text. Raw HTML is shown as text.

import { h, safeUrl } from './dom.js';

const INLINE = /(`[^`]+`)|(\*\*[^*]+\*\*)|(\*[^*\s][^*]*\*|(?<![\w])_[^_\s][^_]*_(?![\w]))|(\[[^\]]*\]\([^)\s]*\))|(https?:\/\/[^\s<>()]+)/;

function inline(text) {
  const out = [];
  let rest = text;
  while (rest.length > 0) {
    const m = INLINE.exec(rest);
    if (!m) { out.push(rest); break; }
    if (m.index > 0) out.push(rest.slice(0, m.index));
    const tok = m[0];
    if (m[1]) {
      out.push(h('code', {}, tok.slice(1, -1)));
    } else if (m[2]) {
      out.push(h('strong', {}, inline(tok.slice(2, -2))));
    } else if (m[3]) {
      out.push(h('em', {}, inline(tok.slice(1, -1))));
    } else if (m[4]) {
      const close = tok.indexOf('](');
      const label = tok.slice(1, close);
      const url = tok.slice(close + 2, -1);
      out.push(link(url, label) || tok);
    } else {
      out.push(link(tok, tok) || tok);
    }
    rest = rest.slice(m.index + tok.length);
  }
  return out;
}

function link(url, label) {
  const safe = safeUrl(url);
  if (!safe || safe.startsWith('/')) return null;  // descriptions link out, absolute only
  return h('a', { href: safe, rel: 'noopener noreferrer nofollow', target: '_blank' }, inline(label));
}

// Returns a DocumentFragment for `source`.
export function renderMarkdown(source) {
  const frag = document.createDocumentFragment();
  const lines = String(source || '').replace(/\r\n?/g, '\n').split('\n');
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (/^\s*$/.test(line)) { i++; continue; }
    if (/^\s*```/.test(line)) {
      const code = [];
      i++;
      while (i < lines.length && !/^\s*```/.test(lines[i])) code.push(lines[i++]);
      i++;
      frag.append(h('pre', {}, h('code', {}, code.join('\n'))));
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      // Inside a page the description's headings sit below the page's own h2 sections.
      const level = Math.min(6, heading[1].length + 2);
      frag.append(h('h' + level, {}, inline(heading[2])));
      i++;
      continue;
    }
    const bullet = /^\s*([-*+]|\d+[.)])\s+/;
    if (bullet.test(line)) {
      const ordered = /^\s*\d/.test(line);
      const list = h(ordered ? 'ol' : 'ul', {});
      while (i < lines.length && bullet.test(lines[i])) {
        list.append(h('li', {}, inline(lines[i].replace(bullet, ''))));
        i++;
      }
      frag.append(list);
      continue;
    }
    const para = [];
    while (i < lines.length && !/^\s*$/.test(lines[i]) && !/^\s*```/.test(lines[i]) &&
           !/^#{1,6}\s/.test(lines[i]) && !bullet.test(lines[i])) {
      para.push(lines[i++].trim());
    }
    frag.append(h('p', {}, inline(para.join(' '))));
  }
  return frag;
}
