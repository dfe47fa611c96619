import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { RvcError } from '../../src/errors.js';
import {
  parseConfigLayer, mergeConfig, setConfigKey, serializeConfigLayer, serializeConfigLayerChecked, resolveConfigKey, getConfigKey,
  unsetConfigKeyInText, removeRemoteInText, setConfigKeyInText, shownRemoteOption, type ConfigLayer,
} from '../../src/model/config.js';
import { urlHasCredentials, maskUrlCredentials } from '../../src/model/secrets.js';
import { codeOf as code, rvcError } from '../helpers/errors.js';


describe('config', () => {
  it('parses, merges local over tracked, and applies defaults', () => {
    const tracked = parseConfigLayer('core:\n  remote: store\ncache:\n  type: hardlink,copy\nremote:\n  store:\n    url: s3://b/p\n', 'c', { allowSecrets: false });
    const local = parseConfigLayer('remote:\n  store:\n    profile: me\n    secret_access_key: s\n', 'l', { allowSecrets: true });
    const c = mergeConfig(tracked, local);
    expect(c.core.hash).toBe('blake3');
    expect(c.core.remote).toBe('store');
    expect(c.cache.type).toEqual(['hardlink', 'copy']);
    expect(c.remote.store).toEqual({ url: 's3://b/p', profile: 'me', secret_access_key: 's' });
    expect(mergeConfig().cache.type).toEqual(['reflink', 'copy']);
  });

  it('rejects unknown sections, keys, values and malformed YAML', () => {
    expect(code(() => parseConfigLayer('colour: red\n', 'c', { allowSecrets: false }))).toBe('CONFIG_INVALID');
    expect(code(() => parseConfigLayer('core:\n  hash: md5\n', 'c', { allowSecrets: false }))).toBe('CONFIG_INVALID');
    expect(code(() => parseConfigLayer('core:\n  nope: 1\n', 'c', { allowSecrets: false }))).toBe('CONFIG_INVALID');
    expect(code(() => parseConfigLayer('cache:\n  type: teleport\n', 'c', { allowSecrets: false }))).toBe('CONFIG_INVALID');
    expect(code(() => parseConfigLayer('core: [\n', 'c', { allowSecrets: false }))).toBe('CONFIG_INVALID');
    expect(code(() => parseConfigLayer('remote:\n  "../x":\n    url: /tmp\n', 'c', { allowSecrets: false }))).toBe('CONFIG_INVALID');
  });

  it('refuses secrets in the tracked config', () => {
    expect(code(() => parseConfigLayer('remote:\n  s:\n    url: s3://b\n    secret_access_key: x\n', 'c', { allowSecrets: false }))).toBe('CONFIG_INVALID');
    expect(code(() => setConfigKey({}, 'remote.s.secret_access_key', 'x', 'c', { allowSecrets: false }))).toBe('CONFIG_INVALID');
  });

  it('sets, unsets and serializes keys', () => {
    let l = setConfigKey({}, 'cache.type', 'symlink,copy', 'c', { allowSecrets: false });
    l = setConfigKey(l, 'remote.r.url', '/tmp/r', 'c', { allowSecrets: false });
    expect(serializeConfigLayer(l)).toBe('cache:\n  type: symlink,copy\nremote:\n  r:\n    url: /tmp/r\n');
    l = setConfigKey(l, 'remote.r.url', undefined, 'c', { allowSecrets: false });
    expect(l.remote).toEqual({});
    expect(code(() => resolveConfigKey('core.nope'))).toBe('CONFIG_KEY_UNKNOWN');
    expect(code(() => setConfigKey({}, 'cache.jobs', 'many', 'c', { allowSecrets: false }))).toBe('CONFIG_INVALID');
  });

  it('reads sizes with units: binary K/M/G/T and KiB…, decimal KB…; refuses fractions of a byte and unknown units', () => {
    const size = (v: string) => setConfigKey({}, 'cache.chunk_threshold', v, 'c', { allowSecrets: false }).cache?.chunk_threshold;
    expect(size('67108864')).toBe(64 * 1024 * 1024);
    expect(size('64MiB')).toBe(64 * 1024 * 1024);
    expect(size('64 M')).toBe(64 * 1024 * 1024);
    expect(size('1.5GiB')).toBe(1.5 * 1024 ** 3);
    expect(size('500MB')).toBe(500_000_000);
    expect(size('8k')).toBe(8192);
    for (const bad of ['1.5', '64 bytes', 'MiB', '-1M', '0.3KiB']) {
      expect(code(() => setConfigKey({}, 'cache.chunk_threshold', bad, 'c', { allowSecrets: false }))).toBe('CONFIG_INVALID');
    }
  });

  it('treats remote names like constructor or toString as plain names', () => {
    const tracked = parseConfigLayer('core:\n  remote: constructor\nremote:\n  constructor:\n    url: /tmp/a\n', 'config.yaml', { allowSecrets: false });
    const c = mergeConfig(tracked, {});
    expect(Object.keys(c.remote)).toEqual(['constructor']);
    expect(c.remote['constructor']).toEqual({ url: '/tmp/a' });
    expect(c.remote['toString']).toBeUndefined();
    expect(c.remote['hasOwnProperty']).toBeUndefined();
    expect(getConfigKey(c, 'remote.toString.url')).toBeUndefined();
    const set = setConfigKey({}, 'remote.constructor.url', '/tmp/b', 'config.yaml', { allowSecrets: false });
    expect(mergeConfig(set).remote['constructor']).toEqual({ url: '/tmp/b' });
    expect((Object as unknown as Record<string, unknown>)['url']).toBeUndefined();
  });

  it('takes fractional timeouts and refuses numbers that would overflow timers', () => {
    // Inputs that broke it: `readtimeout: 0.5` was refused although remotes take fractions of a
    // second, and `jobs: 1e300` / `connecttimeout: 1e300` were accepted.
    const l = parseConfigLayer('remote:\n  s:\n    url: s3://b\n    readtimeout: 0.5\n', 'c', { allowSecrets: false });
    expect(l.remote?.s?.readtimeout).toBe(0.5);
    expect(setConfigKey({}, 'remote.s.connecttimeout', '1.5', 'c', { allowSecrets: false }).remote?.s?.connecttimeout).toBe(1.5);
    expect(code(() => parseConfigLayer('cache:\n  jobs: 1e300\n', 'c', { allowSecrets: false }))).toBe('CONFIG_INVALID');
    expect(code(() => parseConfigLayer('remote:\n  s:\n    connecttimeout: 1e300\n', 'c', { allowSecrets: false }))).toBe('CONFIG_INVALID');
    expect(code(() => setConfigKey({}, 'remote.s.readtimeout', '0', 'c', { allowSecrets: false }))).toBe('CONFIG_INVALID');
    // Inherited property names are not keys.
    expect(code(() => parseConfigLayer('core:\n  toString: 1\n', 'c', { allowSecrets: false }))).toBe('CONFIG_INVALID');
  });

  it('validates every part of a key, so a set can never write a file the reader refuses', () => {
    // `remote..url` used to be accepted and wrote a remote named '' that no command could read.
    for (const bad of ['remote..url', '.core.hash', 'core.hash.', 'core..hash', '', 'remote.r', 'remote', 'core', 'colour.red',
      'remote. r.url', 'remote.-r.url', 'remote.r/x.url', 'remote.__proto__.url', 'remote.r.colour', 'core.hash.x']) {
      expect(code(() => resolveConfigKey(bad)), bad).toBe('CONFIG_KEY_UNKNOWN');
      expect(code(() => setConfigKey({}, bad, 'x', 'c', { allowSecrets: true })), bad).toBe('CONFIG_KEY_UNKNOWN');
    }
    // A remote name may hold dots: the option is the last part.
    expect(resolveConfigKey('remote.eu.west.url')).toEqual({ section: 'remote', name: 'eu.west', key: 'url' });
    const l = setConfigKey({}, 'remote.eu.west.url', '/tmp/x', 'c', { allowSecrets: false });
    expect(parseConfigLayer(serializeConfigLayer(l), 'c', { allowSecrets: false }).remote?.['eu.west']).toEqual({ url: '/tmp/x' });
  });

  it('refuses to serialize a layer it could not read back, naming the file', () => {
    const bad = { remote: { '': { url: 'x' } } } as unknown as ConfigLayer;
    const e = rvcError(() => serializeConfigLayerChecked(bad, '.rvc/config.yaml', { allowSecrets: false }));
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.message).toContain('.rvc/config.yaml');
    const secret = { remote: { r: { url: '/x', secret_access_key: 's' } } } as ConfigLayer;
    expect(code(() => serializeConfigLayerChecked(secret, '.rvc/config.yaml', { allowSecrets: false }))).toBe('CONFIG_INVALID');
    expect(serializeConfigLayerChecked(secret, '.rvc/config.local.yaml', { allowSecrets: true })).toContain('secret_access_key');
    const big = { remote: { r: { url: 'x'.repeat(17 * 1024 * 1024) } } } as ConfigLayer;
    expect(code(() => serializeConfigLayerChecked(big, 'c', { allowSecrets: false }))).toBe('CONFIG_INVALID');
  });

  it('names the repairing command in the errors of its own config files', () => {
    const hintOf = (text: string, fixWith: 'tracked' | 'local') =>
      rvcError(() => parseConfigLayer(text, 'c', { allowSecrets: fixWith === 'local', fixWith })).hint;
    expect(hintOf('remote:\n  "":\n    url: x\n', 'tracked')).toContain("`rvc remote remove ''`");
    expect(hintOf('core:\n  nope: 1\n', 'local')).toContain('`rvc config --local --unset core.nope`');
    expect(hintOf('core:\n  hash: md5\n', 'tracked')).toContain('`rvc config --unset core.hash`');
    expect(hintOf('colour: red\n', 'tracked')).toContain('`rvc config --unset colour`');
    expect(hintOf('remote:\n  r:\n    url: /x\n    secret_access_key: s\n', 'tracked')).toContain('`rvc config --unset remote.r.secret_access_key`');
  });

  it('repairs a file it refuses to read: unset any key, remove any remote, set a valid key', () => {
    const broken = 'core:\n  hash: md5\n  remote: "a b"\nremote:\n  "":\n    url: x\n  "a b":\n    url: y\n  ok:\n    url: /z\n';
    expect(unsetConfigKeyInText(broken, 'c', 'remote..url')).toBe('core:\n  hash: md5\n  remote: a b\nremote:\n  a b:\n    url: y\n  ok:\n    url: /z\n');
    expect(unsetConfigKeyInText(broken, 'c', 'core.nope')).toBeUndefined();
    expect(unsetConfigKeyInText('colour: red\n', 'c', 'colour')).toBe('');
    const noRemote = removeRemoteInText(broken, 'c', 'a b')!;
    expect(noRemote).not.toContain('a b');
    expect(removeRemoteInText(broken, 'c', 'missing')).toBeUndefined();
    const fixed = setConfigKeyInText(unsetConfigKeyInText(noRemote, 'c', 'remote..url')!, 'c', 'core.hash', 'sha256', { allowSecrets: false })!;
    expect(parseConfigLayer(fixed, 'c', { allowSecrets: false })).toEqual({ core: { hash: 'sha256' }, remote: { ok: { url: '/z' } } });
    expect(code(() => setConfigKeyInText(broken, 'c', 'core.hash', 'md5', { allowSecrets: false }))).toBe('CONFIG_INVALID');
    expect(setConfigKeyInText('- a\n', 'c', 'core.hash', 'sha256', { allowSecrets: false })).toBeUndefined();
    expect(code(() => unsetConfigKeyInText('core: [\n', 'c', 'core'))).toBe('CONFIG_INVALID');
  });

  it('treats a URL with credentials in any URL-valued option as a secret', () => {
    for (const u of ['s3://AKIA:s@b/p', 's3://AKIA@b', 'http://u:p@h:9000', 'https://tok@h', 'HTTP://u:p@h', 'http:\\\\u:p@h']) {
      expect(urlHasCredentials(u), u).toBe(true);
    }
    for (const u of ['s3://b/p', 'http://h:9000/x@y', '/srv/a@b', 'gs://b/p?x=1']) expect(urlHasCredentials(u), u).toBe(false);
    expect(maskUrlCredentials('s3://AKIA:s@b/p')).toBe('s3://***@b/p');
    for (const opt of ['url', 'endpointurl']) {
      const text = `remote:\n  r:\n    ${opt}: http://k:SECRET@h\n`;
      const e = rvcError(() => parseConfigLayer(text, 'c', { allowSecrets: false }));
      expect(e.code).toBe('CONFIG_INVALID');
      expect(JSON.stringify(e.toJSON())).not.toContain('SECRET');
      expect(parseConfigLayer(text, 'l', { allowSecrets: true }).remote?.r?.[opt]).toBe('http://k:SECRET@h');
      for (const allowSecrets of [false, true]) {
        const set = rvcError(() => setConfigKey({}, `remote.r.${opt}`, 'http://k:SECRET@h', 'c', { allowSecrets }));
        expect(set.code).toBe('REMOTE_URL_INVALID');
        expect(JSON.stringify(set.toJSON())).not.toContain('SECRET');
      }
    }
    expect(shownRemoteOption('secret_access_key', 'SECRET')).toBe('***');
    expect(shownRemoteOption('endpointurl', 'http://k:SECRET@h')).toBe('http://***@h');
    expect(shownRemoteOption('region', 'eu-west-1')).toBe('eu-west-1');
  });

  it('property: whatever key and value a set is given, it throws or yields a layer that reads back', () => {
    const part = fc.oneof(fc.constantFrom('core', 'cache', 'remote', 'hash', 'type', 'url', 'endpointurl', 'secret_access_key', 'jobs', 'r', 'a.b', ''), fc.string({ maxLength: 6 }));
    const key = fc.array(part, { minLength: 1, maxLength: 4 }).map((ps) => ps.join('.'));
    const value = fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('blake3', 'copy,hardlink', '8', '0.5', 'true', 's3://b/p', 'http://u:p@h', 'null', '~', '- x', '{a: 1}'));
    fc.assert(fc.property(fc.array(fc.tuple(key, value), { maxLength: 5 }), fc.boolean(), (sets, local) => {
      let l: ConfigLayer = {};
      for (const [k, v] of sets) {
        try {
          l = setConfigKey(l, k, v, 'c', { allowSecrets: local });
        } catch (e) {
          if (!(e instanceof RvcError)) throw e;
        }
        const back = parseConfigLayer(serializeConfigLayer(l), 'c', { allowSecrets: local });
        expect(serializeConfigLayer(back)).toBe(serializeConfigLayer(l));
      }
    }), { numRuns: 500, seed: 7 });
  });
});
