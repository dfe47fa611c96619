import { RvcError } from '../errors.js';
import { MAX_YAML_BYTES } from './yaml.js';
import { setOwn } from './values.js';

/**
 * Parameters written as Python (`params.py`), read without running Python, the way DVC reads
 * them: the literal assignments at the top level of the module (`LR = 0.01`, `LAYERS: list =
 * [64, 32]`), the literal assignments in the body of a top-level class, nested classes included
 * (`class Train: lr = 0.1` gives `Train.lr`), and `self.x = <literal>` in a class's `__init__`.
 * An assignment whose value is not a literal (a call, a name, an expression, an f-string) or
 * whose target is not a plain name (`a = b = 1`, `a, b = 1, 2`, `a.b = 1`) is skipped, as DVC
 * skips it; so is one whose value has no JSON form (bytes, complex numbers, sets, `...`, dict
 * keys other than strings and integers). Statements inside `if`, `for`, `try`, functions other
 * than `__init__` … are not read. A later assignment to the same name replaces an earlier one.
 *
 * Literals: integers (decimal, `0x`, `0o`, `0b`, `_` separators), floats (`1e-3`, `.5`),
 * a leading `+`/`-`, strings (single, double and triple quoted, `r`/`u` prefixes, adjacent
 * strings concatenated, every escape except `\N{name}`), `True`, `False`, `None`, lists,
 * tuples (as lists) and dicts. Integers beyond 2^53 lose precision as they do in JSON.
 *
 * The file is untrusted: it is tokenised in one linear pass with its size and bracket nesting
 * bounded, every record is built with `setOwn`, and a lexical error (an unterminated string or
 * bracket, an invalid character or number) is a PARAMS_INVALID error naming the file and line.
 * The rest of the grammar is not checked: a file Python would refuse for other reasons is read
 * as far as its literal assignments go.
 */

/** Deepest nesting of brackets (Python's own tokenizer stops at 200). */
export const MAX_PY_NESTING = 200;
/** Deepest nesting of classes read (Python allows 100 indentation levels). */
const MAX_CLASS_DEPTH = 100;

type Tok =
  | { t: 'name'; v: string; at: number }
  /** `v` undefined: an imaginary number. `int`: written as an integer. */
  | { t: 'num'; v: number | undefined; int: boolean; digits: string; at: number }
  /** `v` undefined: bytes or a formatted string (no JSON value). */
  | { t: 'str'; v: string | undefined; bytes: boolean; at: number }
  | { t: 'op'; v: string; at: number };

interface LogicalLine {
  indent: number;
  toks: Tok[];
}

const KEYWORDS = new Set([
  'False', 'None', 'True', 'and', 'as', 'assert', 'async', 'await', 'break', 'class', 'continue', 'def', 'del', 'elif',
  'else', 'except', 'finally', 'for', 'from', 'global', 'if', 'import', 'in', 'is', 'lambda', 'nonlocal', 'not', 'or',
  'pass', 'raise', 'return', 'try', 'while', 'with', 'yield',
]);
const STRING_PREFIXES = new Set(['r', 'u', 'b', 'br', 'rb', 'f', 'fr', 'rf', 't', 'tr', 'rt']);
const OPS = [
  '...', '**=', '//=', '>>=', '<<=', '->', ':=', '==', '!=', '<=', '>=', '+=', '-=', '*=', '/=', '%=', '&=', '|=', '^=', '@=',
  '**', '//', '<<', '>>',
];
const SINGLE_OPS = '()[]{},:;.=+-*/%@&|^~<>!';
const NAME_RE = /[\p{L}\p{Nl}_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}]*/uy;
const NUMBER_RE = /0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?[jJ]?/y;

/** Parses a Python params file into a mapping (see the module comment for what is read). */
export function parsePythonParams(text: string, file: string): Record<string, unknown> {
  if (text.length > MAX_YAML_BYTES) {
    throw new RvcError('PARAMS_INVALID', `${file} is too large to be a params file (${text.length} bytes)`, {
      path: file, hint: `params files are small; the limit is ${MAX_YAML_BYTES} bytes`,
    });
  }
  const lines = tokenize(text, file);
  return scanBody(lines, 0, lines.length, false, 0, text, file);
}

function fail(text: string, file: string, at: number, msg: string, hint = 'fix the Python syntax at that line'): RvcError {
  let line = 1;
  for (let k = 0; k < at && k < text.length; k++) if (text.charCodeAt(k) === 10) line++;
  return new RvcError('PARAMS_INVALID', `${file}:${line}: ${msg}`, { path: file, line, hint });
}

// ---------------------------------------------------------------------------------------------
// tokenizer

function tokenize(text: string, file: string): LogicalLine[] {
  const n = text.length;
  const lines: LogicalLine[] = [];
  const brackets: { ch: string; at: number }[] = [];
  let cur: Tok[] = [];
  let indent = 0;
  let lineStart = true;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const err = (at: number, msg: string, hint?: string): RvcError => fail(text, file, at, msg, hint);
  const flush = () => {
    if (cur.length > 0) lines.push({ indent, toks: cur });
    cur = [];
  };

  /** Reads a string literal whose quote is at `q0`; `prefix` is the letters before it. */
  const readString = (q0: number, prefix: string, start: number, nest: number): { end: number; tok: Tok } => {
    if (nest > MAX_PY_NESTING) throw err(start, `f-strings nested more than ${MAX_PY_NESTING} levels deep`);
    const p = prefix.toLowerCase();
    const raw = p.includes('r');
    const bytes = p.includes('b');
    const fmt = p.includes('f') || p.includes('t');
    const q = text[q0]!;
    const triple = text.startsWith(q + q + q, q0);
    let j = q0 + (triple ? 3 : 1);
    let out = '';
    for (;;) {
      if (j >= n) throw err(start, `unterminated ${triple ? 'triple-quoted ' : ''}string literal`);
      const c = text[j]!;
      if (c === q && (!triple || text.startsWith(q + q + q, j))) {
        j += triple ? 3 : 1;
        break;
      }
      if (c === '\n' || c === '\r') {
        if (!triple) throw err(start, 'unterminated string literal');
        j += c === '\r' && text[j + 1] === '\n' ? 2 : 1;
        out += '\n';
        continue;
      }
      if (c === '\\') {
        const d = text[j + 1];
        if (d === undefined) throw err(start, 'unterminated string literal');
        if (d === '\n' || d === '\r') {
          const len = d === '\r' && text[j + 2] === '\n' ? 3 : 2;
          if (raw) out += `\\${text.slice(j + 1, j + len).replace('\r\n', '\n').replace('\r', '\n')}`;
          j += len;
          continue;
        }
        if (raw || bytes || fmt) {
          // f"\N{...}" braces belong to the escape, not to a replacement field.
          if (!raw && !bytes && d === 'N' && text[j + 2] === '{') {
            const close = text.indexOf('}', j + 3);
            if (close < 0) throw err(j, 'malformed \\N character escape');
            j = close + 1;
            continue;
          }
          out += `\\${d}`;
          j += 2;
          continue;
        }
        const e = unescape(text, j);
        if (e === null) {
          throw d === 'N'
            ? err(j, 'rvc does not read \\N{name} escapes', 'write the character itself, or a \\u escape')
            : err(j, `invalid escape '${text.slice(j, j + 4)}' in a string`, 'fix the \\x, \\u or \\U escape');
        }
        out += e.s;
        j = e.end;
        continue;
      }
      if (fmt && c === '{') {
        if (text[j + 1] === '{') j += 2;
        else j = scanField(j + 1, start, nest + 1);
        continue;
      }
      out += c;
      j++;
    }
    return { end: j, tok: { t: 'str', v: bytes || fmt ? undefined : out, bytes, at: start } };
  };

  /** Skips a replacement field of an f-string, from just after its `{` to just after its `}`. */
  const scanField = (j: number, start: number, nest: number): number => {
    let depth = 0;
    for (;;) {
      if (j >= n) throw err(start, 'unterminated f-string');
      const c = text[j]!;
      if ('([{'.includes(c)) {
        if (++depth > MAX_PY_NESTING) throw err(j, `brackets nested more than ${MAX_PY_NESTING} levels deep`);
      } else if (')]}'.includes(c)) {
        if (depth === 0) {
          if (c === '}') return j + 1;
          throw err(j, `unmatched '${c}' in an f-string`);
        }
        depth--;
      } else if (c === ':' && depth === 0) {
        // The format spec: text with nested fields, up to the field's closing brace.
        j++;
        for (;;) {
          if (j >= n) throw err(start, 'unterminated f-string');
          const s = text[j]!;
          if (s === '}') return j + 1;
          if (s === '{') j = scanField(j + 1, start, nest + 1);
          else j++;
        }
      } else if (c === '"' || c === "'") {
        j = readString(j, '', j, nest + 1).end;
        continue;
      } else if (/[A-Za-z]/.test(c)) {
        NAME_RE.lastIndex = j;
        const m = NAME_RE.exec(text)!;
        const after = j + m[0].length;
        if ((text[after] === '"' || text[after] === "'") && STRING_PREFIXES.has(m[0].toLowerCase())) {
          j = readString(after, m[0], j, nest + 1).end;
        } else j = after;
        continue;
      }
      j++;
    }
  };

  const nul = text.indexOf('\0');
  if (nul >= 0) throw err(nul, 'the file contains a NUL byte');

  while (i < n) {
    if (lineStart) {
      let col = 0;
      for (; i < n; i++) {
        const c = text[i];
        if (c === ' ') col++;
        else if (c === '\t') col = (Math.floor(col / 8) + 1) * 8;
        else if (c === '\f') col = 0;
        else break;
      }
      indent = col;
      lineStart = false;
      continue;
    }
    const c = text[i]!;
    if (c === '\n' || c === '\r') {
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
      if (brackets.length === 0) {
        flush();
        lineStart = true;
      }
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\f') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < n && text[i] !== '\n' && text[i] !== '\r') i++;
      continue;
    }
    if (c === '\\') {
      const d = text[i + 1];
      if (d === '\n' || d === '\r') {
        i += d === '\r' && text[i + 2] === '\n' ? 3 : 2;
        continue;
      }
      throw err(i, 'unexpected character after line continuation character');
    }
    if (c === '"' || c === "'") {
      const r = readString(i, '', i, 0);
      cur.push(r.tok);
      i = r.end;
      continue;
    }
    NAME_RE.lastIndex = i;
    const name = NAME_RE.exec(text);
    if (name) {
      const after = i + name[0].length;
      if ((text[after] === '"' || text[after] === "'") && STRING_PREFIXES.has(name[0].toLowerCase())) {
        const r = readString(after, name[0], i, 0);
        cur.push(r.tok);
        i = r.end;
      } else {
        cur.push({ t: 'name', v: name[0], at: i });
        i = after;
      }
      continue;
    }
    if ((c >= '0' && c <= '9') || (c === '.' && text[i + 1]! >= '0' && text[i + 1]! <= '9')) {
      NUMBER_RE.lastIndex = i;
      const m = NUMBER_RE.exec(text)![0];
      const end = i + m.length;
      cur.push(numberToken(m, i, () => err(i, `leading zeros in a decimal integer are not allowed: '${m}'`)));
      i = end;
      continue;
    }
    const op = OPS.find((o) => text.startsWith(o, i)) ?? (SINGLE_OPS.includes(c) ? c : undefined);
    if (op === undefined) throw err(i, `invalid character ${JSON.stringify(String.fromCodePoint(text.codePointAt(i)!))}`);
    if (op === '(' || op === '[' || op === '{') {
      brackets.push({ ch: op, at: i });
      if (brackets.length > MAX_PY_NESTING) throw err(i, `brackets nested more than ${MAX_PY_NESTING} levels deep`);
    } else if (op === ')' || op === ']' || op === '}') {
      const open = brackets.pop();
      if (!open) throw err(i, `unmatched '${op}'`);
      if ('([{'.indexOf(open.ch) !== ')]}'.indexOf(op)) throw err(i, `closing '${op}' does not match '${open.ch}'`);
    }
    cur.push({ t: 'op', v: op, at: i });
    i += op.length;
  }
  if (brackets.length > 0) throw err(brackets[brackets.length - 1]!.at, `'${brackets[brackets.length - 1]!.ch}' was never closed`);
  flush();
  return lines;
}

function numberToken(m: string, at: number, leadingZeros: () => RvcError): Tok {
  const digits = m.replaceAll('_', '');
  if (/[jJ]$/.test(digits)) return { t: 'num', v: undefined, int: false, digits, at };
  if (/^0[xXoObB]/.test(digits)) return { t: 'num', v: Number(BigInt(digits)), int: true, digits: BigInt(digits).toString(), at };
  if (/^\d+$/.test(digits)) {
    if (/^0+[1-9]/.test(digits)) throw leadingZeros();
    return { t: 'num', v: Number(digits), int: true, digits: BigInt(digits).toString(), at };
  }
  return { t: 'num', v: Number(digits), int: false, digits, at };
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v',
};

/** The escape at `j` (a backslash) of a str literal; null for one rvc cannot or Python does not accept. */
function unescape(text: string, j: number): { s: string; end: number } | null {
  const d = text[j + 1]!;
  if (Object.hasOwn(SIMPLE_ESCAPES, d)) return { s: SIMPLE_ESCAPES[d]!, end: j + 2 };
  if (d >= '0' && d <= '7') {
    const m = /^[0-7]{1,3}/.exec(text.slice(j + 1, j + 4))![0];
    return { s: String.fromCharCode(parseInt(m, 8)), end: j + 1 + m.length };
  }
  const hex = (len: number): { s: string; end: number } | null => {
    const h = text.slice(j + 2, j + 2 + len);
    if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(h)) return null;
    const cp = parseInt(h, 16);
    if (cp > 0x10ffff) return null;
    return { s: String.fromCodePoint(cp), end: j + 2 + len };
  };
  if (d === 'x') return hex(2);
  if (d === 'u') return hex(4);
  if (d === 'U') return hex(8);
  if (d === 'N') return null;
  return { s: '\\', end: j + 1 }; // unknown escapes keep their backslash; the character follows
}

// ---------------------------------------------------------------------------------------------
// statements

/**
 * The params of the statements in lines[start, end) (a module, class or `__init__` body). In an
 * `__init__` body (`selfOnly`) only `self.<name> = …` assignments count.
 */
function scanBody(lines: LogicalLine[], start: number, end: number, selfOnly: boolean, depth: number, text: string, file: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let idx = start;
  while (idx < end) {
    const l = lines[idx]!;
    let next = idx + 1;
    while (next < end && lines[next]!.indent > l.indent) next++;
    const [t0, t1] = l.toks;
    const isDef = t0?.t === 'name' && t0.v === 'def' && t1?.t === 'name' && t1.v === '__init__';
    if (t0?.t === 'name' && (t0.v === 'class' || isDef) && t1?.t === 'name') {
      if (depth >= MAX_CLASS_DEPTH) throw fail(text, file, t0.at, `classes nested more than ${MAX_CLASS_DEPTH} levels deep`);
      const colon = depthZero(l.toks, 2, ':');
      if (colon >= 0) {
        const inline = l.toks.slice(colon + 1);
        const body = inline.length > 0
          ? scanBody([{ indent: l.indent + 1, toks: inline }], 0, 1, isDef, depth + 1, text, file)
          : scanBody(lines, idx + 1, next, isDef, depth + 1, text, file);
        if (isDef) for (const [k, v] of Object.entries(body)) setOwn(out, k, v);
        else setOwn(out, t1.v, body);
      }
    } else {
      for (const stmt of splitStatements(l.toks)) {
        const a = assignment(stmt, selfOnly);
        if (a) setOwn(out, a[0], a[1]);
      }
    }
    idx = next;
  }
  return out;
}

/** Index of the first `op` at bracket depth 0 from `from`, or -1. */
function depthZero(toks: Tok[], from: number, op: string): number {
  let depth = 0;
  for (let k = from; k < toks.length; k++) {
    const t = toks[k]!;
    if (t.t !== 'op') continue;
    if (depth === 0 && t.v === op) return k;
    if (t.v === '(' || t.v === '[' || t.v === '{') depth++;
    else if (t.v === ')' || t.v === ']' || t.v === '}') depth--;
  }
  return -1;
}

function splitStatements(toks: Tok[]): Tok[][] {
  const out: Tok[][] = [];
  let from = 0;
  for (;;) {
    const k = depthZero(toks, from, ';');
    out.push(toks.slice(from, k < 0 ? toks.length : k));
    if (k < 0) return out;
    from = k + 1;
  }
}

const isOp = (t: Tok | undefined, v: string): boolean => t?.t === 'op' && t.v === v;
const isTargetName = (t: Tok | undefined): t is Tok & { t: 'name' } => t?.t === 'name' && !KEYWORDS.has(t.v);

/** `name = literal`, `name: T = literal` or `self.name = literal`; undefined for anything else. */
function assignment(toks: Tok[], selfOnly: boolean): [string, unknown] | undefined {
  let name: string;
  let k: number;
  const t0 = toks[0];
  if (t0?.t === 'name' && t0.v === 'self' && isOp(toks[1], '.') && isTargetName(toks[2])) {
    name = toks[2].v;
    k = 3;
  } else if (isTargetName(t0) && !selfOnly) {
    name = t0.v;
    k = 1;
  } else return undefined;
  if (isOp(toks[k], ':')) {
    k = depthZero(toks, k + 1, '=');
    if (k < 0) return undefined;
  } else if (!isOp(toks[k], '=')) return undefined;
  const value = toks.slice(k + 1);
  if (depthZero(value, 0, '=') >= 0) return undefined; // a = b = 1
  const v = literal(value);
  return v === SKIP ? undefined : [name, v];
}

// ---------------------------------------------------------------------------------------------
// literals

const SKIP = Symbol('not a literal with a JSON form');
class Skip extends Error {}

/** The value of a literal expression (a tuple when commas separate several), or SKIP. */
function literal(toks: Tok[]): unknown {
  if (toks.length === 0) return SKIP;
  let k = 0;
  const peek = (): Tok | undefined => toks[k];
  const skip = (): never => { throw new Skip(); };
  const expect = (v: string) => {
    if (!isOp(toks[k], v)) skip();
    k++;
  };

  const signedNumber = (): { v: number; int: boolean; digits: string } => {
    let sign = 1;
    if (isOp(peek(), '-') || isOp(peek(), '+')) {
      if (isOp(peek(), '-')) sign = -1;
      k++;
    }
    // `-(1)` is the same node as `-1`; parentheses add no node.
    let parens = 0;
    while (isOp(peek(), '(')) { parens++; k++; }
    const t = peek();
    if (t?.t !== 'num' || t.v === undefined) skip();
    k++;
    for (; parens > 0; parens--) expect(')');
    const num = t as Tok & { t: 'num' };
    // `1+2j` is a complex number.
    if ((isOp(peek(), '+') || isOp(peek(), '-')) && toks[k + 1]?.t === 'num' && (toks[k + 1] as { v?: number }).v === undefined) skip();
    return { v: sign * num.v!, int: num.int, digits: sign < 0 && num.digits !== '0' ? `-${num.digits}` : num.digits };
  };

  const expr = (): unknown => {
    const t = peek();
    if (t === undefined) return skip();
    if (t.t === 'num' || isOp(t, '-') || isOp(t, '+')) return signedNumber().v;
    if (t.t === 'str') {
      let s = '';
      while (peek()?.t === 'str') {
        const x = peek() as Tok & { t: 'str' };
        if (x.v === undefined) skip();
        s += x.v;
        k++;
      }
      return s;
    }
    if (t.t === 'name') {
      k++;
      if (t.v === 'True') return true;
      if (t.v === 'False') return false;
      if (t.v === 'None') return null;
      return skip();
    }
    if (isOp(t, '(')) {
      k++;
      if (isOp(peek(), ')')) { k++; return []; }
      // `(-1)` as an operand of a sign was handled above; here it is a value or a tuple.
      const first = expr();
      if (isOp(peek(), ')')) { k++; return first; }
      const items = [first];
      while (isOp(peek(), ',')) {
        k++;
        if (isOp(peek(), ')')) break;
        items.push(expr());
      }
      expect(')');
      return items;
    }
    if (isOp(t, '[')) {
      k++;
      const items: unknown[] = [];
      while (!isOp(peek(), ']')) {
        items.push(expr());
        if (isOp(peek(), ',')) k++;
        else if (!isOp(peek(), ']')) skip();
      }
      k++;
      return items;
    }
    if (isOp(t, '{')) {
      k++;
      const out: Record<string, unknown> = {};
      while (!isOp(peek(), '}')) {
        const key = dictKey();
        expect(':'); // a set (`{1, 2}`) has no JSON form
        setOwn(out, key, expr());
        if (isOp(peek(), ',')) k++;
        else if (!isOp(peek(), '}')) skip();
      }
      k++;
      return out;
    }
    return skip();
  };

  const dictKey = (): string => {
    const t = peek();
    if (t?.t === 'str') {
      const v = expr();
      return v as string;
    }
    const n = signedNumber();
    if (!n.int) skip();
    return n.digits;
  };

  try {
    const first = expr();
    if (k === toks.length) return first;
    if (!isOp(peek(), ',')) return SKIP;
    const items = [first];
    while (isOp(peek(), ',')) {
      k++;
      if (k === toks.length) break;
      items.push(expr());
    }
    return k === toks.length ? items : SKIP;
  } catch (e) {
    if (e instanceof Skip) return SKIP;
    throw e;
  }
}
