import { describe, it, expect } from 'vitest';
import { parseConfigLayer, mergeConfig, setConfigKey, serializeConfigLayer, resolveConfigKey, getConfigKey } from '../../src/model/config.js';
import { codeOf as code } from '../helpers/errors.js';


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
});
