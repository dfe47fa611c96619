/**
 * The offline plots page: one HTML file carrying the chart library (vega, vega-lite and
 * vega-embed, read from the installed packages' `build/*.min.js`), every plot's specification
 * with its data, and `<img>` tags for images copied beside it. It loads nothing from the network.
 * Each plot's container reports how it went for scripts and tests: `data-state="ok|error"` and
 * `data-marks` (items drawn) once settled, and the body gets `data-ready="1"` when all have.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { RvcError } from '../errors.js';
import { setOwn } from '../model/values.js';
import { PlotData } from './build.js';
import type { Column } from './data.js';

const LIBS = [['vega', 'vega.min.js'], ['vega-lite', 'vega-lite.min.js'], ['vega-embed', 'vega-embed.min.js']] as const;

let libText: string | undefined;

/** The three chart libraries' minified builds, concatenated; read once per process. */
export function chartLibraries(): string {
  if (libText !== undefined) return libText;
  const require = createRequire(import.meta.url);
  const parts: string[] = [];
  for (const [pkg, file] of LIBS) {
    // The packages export no subpaths: look for the file in each node_modules folder node would search.
    const dirs = require.resolve.paths(pkg) ?? [];
    const found = dirs.map((d) => path.join(d, pkg, 'build', file)).find((f) => fs.existsSync(f));
    if (!found) {
      throw new RvcError('IO', `the chart library '${pkg}' (${pkg}/build/${file}) is not installed`, { path: pkg, hint: 'reinstall rvc with its dependencies (`npm install`)' });
    }
    // A script element ends at the first `</script`; none of the builds holds one, but be sure.
    parts.push(fs.readFileSync(found, 'utf8').replace(/<\/(script)/gi, '<\\/$1'));
  }
  libText = parts.join('\n;\n');
  return libText;
}

export interface PagePlot {
  id: string;
  /** A Vega-Lite specification to draw; a PlotData in it is written as columns, which the page's script turns into records. */
  spec?: unknown;
  /** Images to show, each with the page-relative file name it was copied to and its revision. */
  images?: { rev: string; src: string }[];
  /** Messages shown above the plot (problems with part of its data), or instead of it. */
  messages: string[];
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** JSON safe inside a script element: `<` never appears literally. */
const SCRIPT_ESCAPES: Record<string, string> = { '<': '\\u003c', '\u2028': '\\u2028', '\u2029': '\\u2029' };
function scriptJson(v: unknown): string {
  const s = JSON.stringify(v);
  // Three plain searches first: a page of many points usually has none of them.
  if (!s.includes('<') && !s.includes('\u2028') && !s.includes('\u2029')) return s;
  return s.replace(/[<\u2028\u2029]/g, (c) => SCRIPT_ESCAPES[c]!);
}

/**
 * A column as the page carries it: `{"seq": [a, d]}` when value i is exactly a + i·d (a step
 * column, or the row index), `{"f64": base64}` for other numbers (the doubles' bytes, little
 * endian: exact, and far cheaper to write and read than decimal text), `{"dict", "idx"}` for
 * text repeated many times, else the values as a JSON list.
 */
function encodeColumn(c: Column | undefined, n: number): unknown {
  if (c === undefined) return { seq: [0, 1] };
  if (c instanceof Float64Array) {
    const a = c[0] ?? 0;
    const d = n > 1 ? c[1]! - a : 0;
    let i = 1;
    while (i < n && c[i] === a + i * d) i++;
    if (i >= n) return { seq: [a, d] };
    const b = Buffer.from(c.buffer, c.byteOffset, n * 8);
    return { f64: (os.endianness() === 'LE' ? b : Buffer.from(b).swap64()).toString('base64') };
  }
  if (n >= 8 && c.every((v) => typeof v === 'string')) {
    const dict: string[] = [];
    const at = new Map<string, number>();
    const idx = c.map((v) => {
      let i = at.get(v as string);
      if (i === undefined) { i = dict.length; dict.push(v as string); at.set(v as string, i); }
      return i;
    });
    if (dict.length * 4 < n) return { dict, idx };
  }
  return c.length === n ? c : c.slice(0, n);
}

/** A specification as the page carries it: each PlotData in it as `{"rvc:data": [part, …]}`, its columns encoded. */
function encodeSpec(v: unknown): unknown {
  if (v instanceof PlotData) {
    return { 'rvc:data': v.parts.map((p) => ({ rev: p.rev, series: p.series, label: p.label, n: p.length, x: encodeColumn(p.x, p.length), y: encodeColumn(p.y, p.length) })) };
  }
  if (Array.isArray(v)) return v.map(encodeSpec);
  if (typeof v === 'object' && v !== null) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) setOwn(o, k, encodeSpec(x));
    return o;
  }
  return v;
}

/** The page's own script: embed each plot, then report what was drawn. */
const RUNNER = `
(function () {
  // Data written as columns ({"rvc:data": parts}) become the records Vega reads.
  var LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  function f64(b64, n) {
    var bin = atob(b64), u = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) u[i] = bin.charCodeAt(i);
    if (LE) return new Float64Array(u.buffer, 0, n);
    var dv = new DataView(u.buffer), out = new Float64Array(n);
    for (var k = 0; k < n; k++) out[k] = dv.getFloat64(k * 8, true);
    return out;
  }
  function values(c, n) {
    if (Array.isArray(c)) return c;
    var out, i;
    if (c.f64 !== undefined) return f64(c.f64, n);
    if (c.seq) { out = new Float64Array(n); for (i = 0; i < n; i++) out[i] = c.seq[0] + i * c.seq[1]; return out; }
    out = new Array(n);
    for (i = 0; i < n; i++) out[i] = c.dict[c.idx[i]];
    return out;
  }
  function expand(v) {
    if (Array.isArray(v)) { for (var a = 0; a < v.length; a++) v[a] = expand(v[a]); return v; }
    if (!v || typeof v !== 'object') return v;
    var keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === 'rvc:data' && Array.isArray(v['rvc:data'])) {
      var rows = [];
      v['rvc:data'].forEach(function (p) {
        var x = values(p.x, p.n), y = values(p.y, p.n);
        for (var i = 0; i < p.n; i++) rows.push({ x: x[i], y: y[i], rev: p.rev, series: p.series, label: p.label });
      });
      return rows;
    }
    for (var k = 0; k < keys.length; k++) v[keys[k]] = expand(v[keys[k]]);
    return v;
  }
  var specs = expand(JSON.parse(document.getElementById('rvc-plot-specs').textContent));
  function countMarks(node) {
    var n = 0;
    if (!node) return 0;
    // A line, area or trail is one shape drawn through many items: count it once.
    if (node.marktype && node.marktype !== 'group' && node.role === 'mark') {
      var k = (node.items || []).length;
      return /^(line|area|trail)$/.test(node.marktype) ? (k > 0 ? 1 : 0) : k;
    }
    var kids = node.items || [];
    for (var i = 0; i < kids.length; i++) n += countMarks(kids[i]);
    return n;
  }
  function fail(el, msg) {
    el.dataset.state = 'error';
    var p = document.createElement('p');
    p.className = 'rvc-error';
    p.textContent = msg;
    el.appendChild(p);
  }
  var jobs = [];
  document.querySelectorAll('[data-plot-index]').forEach(function (el) {
    var spec = specs[Number(el.dataset.plotIndex)];
    var target = el.querySelector('.rvc-chart');
    var errors = [];
    var logger = { level: function () { return this; }, error: function () { errors.push([].slice.call(arguments).join(' ')); return this; },
      warn: function () { return this; }, info: function () { return this; }, debug: function () { return this; } };
    jobs.push(vegaEmbed(target, spec, { actions: false, renderer: 'svg', logger: logger }).then(function (res) {
      return res.view.runAsync().then(function () {
        if (errors.length) return fail(el, errors.join('; '));
        el.dataset.marks = String(countMarks(res.view.scenegraph().root));
        el.dataset.state = 'ok';
      });
    }).catch(function (e) { fail(el, String(e && e.message || e)); }));
  });
  document.querySelectorAll('[data-image-plot]').forEach(function (el) {
    var imgs = Array.prototype.slice.call(el.querySelectorAll('img'));
    jobs.push(Promise.all(imgs.map(function (img) {
      return new Promise(function (ok) {
        if (img.complete && img.naturalWidth > 0) return ok(true);
        if (img.complete) return ok(false);
        img.addEventListener('load', function () { ok(true); });
        img.addEventListener('error', function () { ok(false); });
      });
    })).then(function (r) {
      var good = r.filter(Boolean).length;
      el.dataset.marks = String(good);
      if (good === r.length) el.dataset.state = 'ok'; else fail(el, (r.length - good) + ' image(s) could not be shown');
    }));
  });
  Promise.all(jobs).then(function () { document.body.dataset.ready = '1'; });
})();
`;

const STYLE = `body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
.rvc-plot{display:inline-block;vertical-align:top;margin:0 1.5em 1.5em 0;padding:.5em;border:1px solid #ddd;border-radius:4px}
.rvc-plot h2{font-size:1em;margin:0 0 .4em}.rvc-error,.rvc-note{color:#a40000;font-size:.9em;max-width:36em;margin:.2em 0}
.rvc-note{color:#7a5800}.rvc-plot img{max-width:480px;display:block;margin:.3em 0}.rvc-plot figcaption{font-size:.85em;color:#555}`;

/** Placeholder of a user's HTML template where the plots go (DVC's name). */
export const PLOT_DIVS = '{plot_divs}';

export function buildPage(plots: readonly PagePlot[], opts: { htmlTemplate?: string; title?: string } = {}): string {
  return pageParts(plots, opts).join('');
}

/**
 * The page as consecutive pieces (the chart libraries, the specifications with their data, the
 * rest): written one after the other, a page of many points is never one string to encode.
 */
export function pageParts(plots: readonly PagePlot[], opts: { htmlTemplate?: string; title?: string } = {}): string[] {
  const specs: unknown[] = [];
  const divs = plots.map((p) => {
    const head = `<h2>${esc(p.id)}</h2>`;
    if (p.images) {
      const figs = p.images.map((i) => `<figure><img src="${esc(i.src)}" alt="${esc(`${p.id} (${i.rev})`)}"><figcaption>${esc(i.rev)}</figcaption></figure>`).join('');
      const notes = p.messages.map((m) => `<p class="rvc-note">${esc(m)}</p>`).join('');
      return `<div class="rvc-plot" data-plot-id="${esc(p.id)}" data-image-plot="1">${head}${notes}${figs}</div>`;
    }
    if (p.spec === undefined) {
      const msgs = p.messages.map((m) => `<p class="rvc-error">${esc(m)}</p>`).join('');
      return `<div class="rvc-plot" data-plot-id="${esc(p.id)}" data-state="error" data-marks="0">${head}${msgs}</div>`;
    }
    specs.push(encodeSpec(p.spec));
    const notes = p.messages.map((m) => `<p class="rvc-note">${esc(m)}</p>`).join('');
    return `<div class="rvc-plot" data-plot-id="${esc(p.id)}" data-plot-index="${specs.length - 1}">${head}${notes}<div class="rvc-chart"></div></div>`;
  });
  const body = [
    `<style>${STYLE}</style>\n<script>`, chartLibraries(),
    '</script>\n<script type="application/json" id="rvc-plot-specs">', scriptJson(specs),
    `</script>\n${[...(divs.length ? divs : ['<p>No plots.</p>']), `<script>${RUNNER}</script>`].join('\n')}`,
  ];
  if (opts.htmlTemplate !== undefined) {
    const at = opts.htmlTemplate.indexOf(PLOT_DIVS);
    return [opts.htmlTemplate.slice(0, at), ...body, opts.htmlTemplate.slice(at + PLOT_DIVS.length)];
  }
  return [`<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>${esc(opts.title ?? 'rvc plots')}</title>\n</head>\n<body>\n`, ...body, '\n</body>\n</html>\n'];
}
