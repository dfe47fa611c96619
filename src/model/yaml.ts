import { Parser, Composer, parseDocument, stringify, isMap, isCollection, isAlias, isScalar, visit, LineCounter, type Document } from 'yaml';
import { RvcError, type ErrorCode } from '../errors.js';

/** Documents bigger than this are refused before parsing: no pointer, lock or config is this large. */
export const MAX_YAML_BYTES = 16 * 1024 * 1024;
/**
 * Deepest nesting of lists and mappings accepted. The YAML composer and everything that walks
 * a parsed value recurse once per level; a few thousand levels exhaust the stack, and V8 can
 * abort the whole process (not throw) when a later parse runs near the limit. No rvc file needs
 * more than a dozen levels.
 */
export const MAX_YAML_DEPTH = 100;

export interface ParsedYaml {
  value: unknown;
  /** 1-based line of a top-level or nested key path, for error messages. */
  lineOf(path: (string | number)[]): number | undefined;
}

/** The line of `path`, or of its nearest ancestor found in the document, or 1. */
export function nearestLine(y: ParsedYaml, path: (string | number)[]): number {
  for (let n = path.length; n >= 0; n--) {
    const l = y.lineOf(path.slice(0, n));
    if (l !== undefined) return l;
  }
  return 1;
}

/**
 * Parses one YAML document with the limits a hostile repository calls for: size, nesting depth
 * and alias expansion are capped (billion-laughs), duplicate keys are errors, and every failure
 * becomes an RvcError naming the file and line.
 */
export function parseYaml(text: string, file: string, code: ErrorCode = 'YAML_INVALID'): ParsedYaml {
  if (text.length > MAX_YAML_BYTES) {
    throw new RvcError(code, `${file} is too large to be an rvc file (${text.length} bytes)`, {
      path: file, hint: `rvc files are small; the limit is ${MAX_YAML_BYTES} bytes`,
    });
  }
  const lineCounter = new LineCounter();
  const lineAt = (offset: number): number => Math.max(1, lineCounter.linePos(offset).line);
  const fail = (line: number, msg: string, hint: string, cause?: unknown): RvcError =>
    new RvcError(code, `${file}:${line}: ${msg}`, { path: file, line, hint, ...(cause === undefined ? {} : { cause }) });
  // Parsing is split in its two stages (what parseDocument does in one call) so that the
  // nesting depth is checked on the concrete syntax tree, which is built without recursion,
  // before the composer recurses into it.
  const tokens = Array.from(new Parser(lineCounter.addNewLine).parse(text));
  const deep = deepestOffset(tokens, MAX_YAML_DEPTH);
  if (deep !== undefined) {
    throw fail(lineAt(deep), `YAML nested more than ${MAX_YAML_DEPTH} levels deep`, 'rvc files are shallow; a file this deep was crafted or damaged');
  }
  const docs: Document.Parsed[] = Array.from(new Composer({ uniqueKeys: false, strict: true }).compose(tokens, true, text.length));
  const doc = docs[0]!;
  if (docs.length > 1) {
    throw fail(lineAt(docs[1]!.range[0]), 'invalid YAML: more than one document', 'an rvc file holds a single YAML document (remove the `---` line)');
  }
  const err = doc.errors[0];
  if (err) {
    throw fail(lineAt(err.pos[0]), `invalid YAML: ${firstLine(err.message).replace(/ at line \d+, column \d+:?$/, '')}`, 'fix the YAML syntax at that line');
  }
  // Keys are checked here rather than by the library's uniqueKeys option, which compares every
  // key with every other one: a 20,000-key mapping took seconds. A list, map or alias used as a
  // key has no meaning in any rvc file (the library would stringify it), and two keys that
  // become the same property would silently drop one value.
  let badKey: { line: number; msg: string } | undefined;
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        const k = pair.key as unknown;
        const r = (k as { range?: [number, number, number] } | null)?.range;
        const line = r ? lineAt(r[0]) : 1;
        if (isCollection(k) || isAlias(k)) {
          badKey = { line, msg: 'a list, mapping or alias cannot be a key' };
          return visit.BREAK;
        }
        const name = isScalar(k) ? String(k.value) : String(k);
        if (seen.has(name)) {
          badKey = { line, msg: `duplicate key '${name.slice(0, 100)}'` };
          return visit.BREAK;
        }
        seen.add(name);
      }
      return undefined;
    },
  });
  if (badKey) throw fail(badKey.line, `invalid YAML: ${badKey.msg}`, 'keys must be distinct plain strings');
  let value: unknown;
  try {
    // maxAliasCount bounds the work an alias bomb can cause; the default (100) is kept explicit.
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // The only failures here are aliases: unresolved ones, or too many (an alias bomb).
    let line = 1;
    visit(doc, {
      Alias(_, node) {
        let resolved: unknown;
        try {
          resolved = node.resolve(doc);
        } catch {
          resolved = undefined;
        }
        if (resolved === undefined || line === 1) line = node.range ? lineAt(node.range[0]) : line;
        return resolved === undefined ? visit.BREAK : undefined;
      },
    });
    throw fail(line, `YAML could not be expanded: ${firstLine(e instanceof Error ? e.message : String(e))}`, 'aliases that are undefined or expand excessively are refused', e);
  }
  return {
    value,
    lineOf(path) {
      let node: unknown = doc.contents;
      for (const k of path) {
        if (!node || typeof node !== 'object') return undefined;
        if (isMap(node)) {
          const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === k);
          if (!pair) return undefined;
          node = pair.value ?? pair.key;
        } else if ('items' in (node as object)) {
          node = (node as { items: unknown[] }).items[k as number];
        } else return undefined;
      }
      const range = (node as { range?: [number, number, number] } | undefined)?.range;
      return range ? lineAt(range[0]) : undefined;
    },
  };
}

/**
 * parseYaml, plus the line of a syntax error when parseYaml reports none: the parser only
 * computes line positions for errors in its "pretty" mode, so the failing text is parsed once
 * more in that mode to find the line. Valid documents are parsed once.
 */
export function parseYamlLocated(text: string, file: string, code: ErrorCode = 'YAML_INVALID'): ParsedYaml {
  try {
    return parseYaml(text, file, code);
  } catch (e) {
    if (!(e instanceof RvcError) || e.line !== undefined || text.length > MAX_YAML_BYTES) throw e;
    const err = parseDocument(text, { uniqueKeys: true, prettyErrors: true, strict: true }).errors[0];
    const line = err?.linePos?.[0]?.line;
    if (!line) throw e;
    const msg = e.message.startsWith(`${file}: `) ? `${file}:${line}: ${e.message.slice(file.length + 2)}` : e.message;
    throw new RvcError(e.code, msg, { path: file, line, ...(e.hint ? { hint: e.hint } : {}), cause: e });
  }
}

/**
 * Serialises a value for one of rvc's YAML files, refusing (through guardYamlOutput) a document
 * that parseYaml would refuse to read back.
 */
export function toYaml(value: unknown, file = 'YAML document', hint?: string): string {
  return guardYamlOutput(stringify(value, { lineWidth: 0, indent: 2 }), file, hint);
}

/**
 * The one gate every writer of rvc's YAML files passes its text through before writing it:
 * rvc never writes a file its own reader refuses. A document over MAX_YAML_BYTES (measured as
 * parseYaml measures it) or nested deeper than MAX_YAML_DEPTH is refused with YAML_INVALID
 * naming the file and the cause; nothing is written. Returns the text unchanged otherwise.
 */
export function guardYamlOutput(text: string, file: string, hint?: string): string {
  const what = hint ?? 'nothing was written; make the content smaller or shallower';
  if (text.length > MAX_YAML_BYTES) {
    throw new RvcError('YAML_INVALID', `refusing to write ${file}: it would be ${text.length} bytes, over the ${MAX_YAML_BYTES}-byte limit rvc reads back`, {
      path: file, hint: what,
    });
  }
  // Depth is counted on the syntax tree exactly as parseYaml counts it (without recursion).
  const tokens = Array.from(new Parser().parse(text));
  if (deepestOffset(tokens, MAX_YAML_DEPTH) !== undefined) {
    throw new RvcError('YAML_INVALID', `refusing to write ${file}: it would nest more than ${MAX_YAML_DEPTH} levels deep, which rvc refuses to read`, {
      path: file, hint: what,
    });
  }
  return text;
}

/**
 * Offset of the first collection nested deeper than `max` in a concrete syntax tree, found
 * without recursion; undefined when the tree is shallow enough.
 */
function deepestOffset(tokens: readonly unknown[], max: number): number | undefined {
  const stack: [unknown, number][] = tokens.map((t) => [t, 0]);
  while (stack.length) {
    const [t, depth] = stack.pop()!;
    if (!t || typeof t !== 'object') continue;
    const tok = t as { type?: string; offset?: number; value?: unknown; items?: { key?: unknown; value?: unknown }[] };
    if (tok.type === 'document') stack.push([tok.value, depth]);
    else if (tok.type === 'block-map' || tok.type === 'block-seq' || tok.type === 'flow-collection') {
      if (depth >= max) return tok.offset ?? 0;
      for (const item of tok.items ?? []) stack.push([item.key, depth + 1], [item.value, depth + 1]);
    }
  }
  return undefined;
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}
