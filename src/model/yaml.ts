import { parseDocument, stringify, isMap, isCollection, visit, LineCounter } from 'yaml';
import { RvcError, type ErrorCode } from '../errors.js';

/** Documents bigger than this are refused before parsing: no pointer, lock or config is this large. */
export const MAX_YAML_BYTES = 16 * 1024 * 1024;

export interface ParsedYaml {
  value: unknown;
  /** 1-based line of a top-level or nested key path, for error messages. */
  lineOf(path: (string | number)[]): number | undefined;
}

/**
 * Parses one YAML document with the limits a hostile repository calls for: alias expansion is
 * capped (billion-laughs), size is capped, duplicate keys are errors, and every failure becomes
 * an RvcError naming the file and line.
 */
export function parseYaml(text: string, file: string, code: ErrorCode = 'YAML_INVALID'): ParsedYaml {
  if (text.length > MAX_YAML_BYTES) {
    throw new RvcError(code, `${file} is too large to be an rvc file (${text.length} bytes)`, {
      path: file, hint: `rvc files are small; the limit is ${MAX_YAML_BYTES} bytes`,
    });
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: true, strict: true });
  const err = doc.errors[0];
  if (err) {
    const line = err.linePos?.[0]?.line;
    throw new RvcError(code, `${file}${line ? `:${line}` : ''}: invalid YAML: ${firstLine(err.message).replace(/ at line \d+, column \d+:?$/, '')}`, {
      path: file, ...(line ? { line } : {}), hint: 'fix the YAML syntax at that line',
    });
  }
  // A list or map used as a key has no meaning in any rvc file; the library would stringify it.
  let badKeyLine: number | undefined;
  visit(doc, {
    Pair(_, pair) {
      if (isCollection(pair.key)) {
        const r = (pair.key as { range?: [number, number, number] }).range;
        badKeyLine = r ? lineCounter.linePos(r[0]).line : 0;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  if (badKeyLine !== undefined) {
    throw new RvcError(code, `${file}${badKeyLine ? `:${badKeyLine}` : ''}: invalid YAML: a list or mapping cannot be a key`, {
      path: file, ...(badKeyLine ? { line: badKeyLine } : {}), hint: 'keys must be plain strings',
    });
  }
  let value: unknown;
  try {
    // maxAliasCount bounds the work an alias bomb can cause; the default (100) is kept explicit.
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new RvcError(code, `${file}: YAML could not be expanded: ${firstLine(e instanceof Error ? e.message : String(e))}`, {
      path: file, hint: 'aliases that expand excessively are refused', cause: e,
    });
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
      return range ? lineCounter.linePos(range[0]).line : undefined;
    },
  };
}

export function toYaml(value: unknown): string {
  return stringify(value, { lineWidth: 0, indent: 2 });
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

/** A plain object (mapping) as opposed to null, an array or a scalar. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
