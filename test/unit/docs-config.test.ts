import fs from 'node:fs';
import path from 'node:path';
import { describe, it, expect } from 'vitest';
import { parseConfigLayer, setConfigKey, SECRET_REMOTE_KEYS } from '../../src/model/config.js';
import { ROOT } from '../helpers/cli.js';

/** The option names of the `## Options` table of docs/remotes.md: every backticked name of its first column. */
function documentedRemoteOptions(): string[] {
  const text = fs.readFileSync(path.join(ROOT, 'docs/remotes.md'), 'utf8');
  const section = text.split(/^## Options$/m)[1]!.split(/^## /m)[0]!;
  const names: string[] = [];
  for (const line of section.split('\n')) {
    const first = /^\|([^|]+)\|/.exec(line)?.[1];
    if (!first || /^\s*-+\s*$/.test(first) || /option/.test(first)) continue;
    for (const m of first.matchAll(/`([^`]+)`/g)) names.push(m[1]!);
  }
  return names;
}

/** A value of the right kind for each documented option. */
function sampleValue(option: string): string {
  if (option === 'url') return 's3://bucket/prefix';
  if (option === 'endpointurl') return 'http://127.0.0.1:9000';
  if (option === 'packs') return 'false';
  if (option === 'partsize' || option === 'resumablethreshold') return String(8 * 1024 * 1024);
  if (/timeout$|retries$|jobs$|threshold$|size$/.test(option)) return '3';
  return 'x';
}

describe('docs/remotes.md and the config validation agree', () => {
  it('every documented remote option is accepted by `rvc config` and by the config reader', () => {
    const options = documentedRemoteOptions();
    // The table is found and read: the options every remote has are in it.
    expect(options).toEqual(expect.arrayContaining(['jobs', 'endpointurl', 'access_key_id', 'partsize', 'headthreshold']));
    for (const option of options) {
      const allowSecrets = SECRET_REMOTE_KEYS.has(option);
      const value = sampleValue(option);
      expect(() => setConfigKey({}, `remote.r.${option}`, value, 'config.yaml', { allowSecrets }), option).not.toThrow();
      const text = `remote:\n  r:\n    url: s3://bucket/prefix\n    ${option}: "${value}"\n`;
      expect(() => parseConfigLayer(text, 'config.yaml', { allowSecrets }), option).not.toThrow();
    }
  });
});
