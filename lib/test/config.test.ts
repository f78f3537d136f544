import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { CommonConfig, listSetting, loadConfig } from '@lizards/lib';

describe('loadConfig', () => {
  it('when nothing is set, then defaults that work locally', () => {
    const config = loadConfig(CommonConfig, {});
    expect(config).toMatchObject({
      HOST: '127.0.0.1',
      PORT: 0,
      REGISTRY_URL: 'http://127.0.0.1:8500',
      HEARTBEAT_INTERVAL_MS: 5000,
      LOG_LEVEL: 'info',
    });
    expect(config.REGISTRY_TOKEN).toBeUndefined();
  });

  it('when values are given as strings, then they are converted to their types', () => {
    const config = loadConfig(CommonConfig, { PORT: '8081', HEARTBEAT_INTERVAL_MS: '250', LOG_LEVEL: 'debug' });
    expect(config.PORT).toBe(8081);
    expect(config.HEARTBEAT_INTERVAL_MS).toBe(250);
    expect(config.LOG_LEVEL).toBe('debug');
  });

  it('when a value is empty, then the default applies', () => {
    expect(loadConfig(CommonConfig, { PORT: '' }).PORT).toBe(0);
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['LOG_LEVEL', 'loud'],
    ['REGISTRY_URL', 'ftp://x'],
    ['HEARTBEAT_INTERVAL_MS', '1.5'],
  ])('when %s is %s, then the error names the variable and the value', (name, value) => {
    expect(() => loadConfig(CommonConfig, { [name]: value })).toThrow(
      new RegExp(`${name}: .*got "${value.replace('.', '\\.')}"`),
    );
    try {
      loadConfig(CommonConfig, { [name]: value });
    } catch (err) {
      expect((err as { code: string }).code).toBe('LZ_ERR_CONFIG');
    }
  });

  it('when a required variable is missing, then the error names it', () => {
    const schema = Type.Object({ SESSION_SECRET: Type.String({ minLength: 16 }) });
    expect(() => loadConfig(schema, {})).toThrow(/SESSION_SECRET: .*got nothing/);
  });

  it('when unrelated variables are in the environment, then they are ignored', () => {
    expect(loadConfig(CommonConfig, { PATH: '/bin', SOMETHING: 'x' })).not.toHaveProperty('PATH');
  });
});

describe('listSetting', () => {
  it('when given a comma list with blanks, then the trimmed items', () => {
    expect(listSetting(' a, b ,,c ')).toEqual(['a', 'b', 'c']);
    expect(listSetting(undefined)).toEqual([]);
  });
});
