/**
 * Plain data values — what YAML and JSON parse to — and the few operations every format needs
 * on them: structural equality, a canonical form and its JSON, a locale-free string order,
 * safe property definition and a short description for error messages.
 *
 * Values come from files someone else may have written, so keys are untrusted: records are
 * built with defineProperty (`setOwn`), so that a key named `__proto__` stays data.
 */

/** A plain object (mapping) as opposed to null, an array or a scalar. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Structural equality for parsed YAML/JSON values (NaN equals NaN, key order is ignored). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a === 'number' && typeof b === 'number') return a === b; // 0 and -0
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isPlainObject(a)) {
    if (!isPlainObject(b)) return false;
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/** A copy with every mapping's keys in code-unit order, so serialisations are canonical. */
export function sortKeysDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeysDeep);
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort(compareStrings)) setOwn(out, k, sortKeysDeep(v[k]));
    return out;
  }
  return v;
}

/** JSON with sorted keys and no whitespace: the input to a hash. Non-finite numbers become strings. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(sortKeysDeep(v), (_k, x: unknown) =>
    typeof x === 'number' && !Number.isFinite(x) ? `number:${String(x)}` : x,
  );
}

/**
 * Code-unit order, the same everywhere (localeCompare would depend on the machine's locale).
 * Every sorted list rvc writes or prints — manifest entries, lock stages, parameter keys — uses it.
 */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Defines an own enumerable data property, safe for keys like `__proto__`. */
export function setOwn<T>(obj: Record<string, T>, key: string, value: NoInfer<T>): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A short description of a value for error messages: `a list`, `the number 3`, `null`. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (isPlainObject(v)) return 'a mapping';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return `${typeof v === 'number' ? 'the number' : typeof v === 'boolean' ? 'the boolean' : typeof v} ${String(v)}`;
}
