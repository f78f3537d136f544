import { describe, expect, it } from 'vitest';
import { isLoopbackHost, secretMatches } from '../src/auth/access.js';

describe('secretMatches', () => {
  it(
    'when the presented secret is the expected one, then it matches; any other text, a prefix, a longer one or ' +
      'none does not',
    () => {
      expect(secretMatches('s3cret-token', 's3cret-token')).toBe(true);
      for (const given of ['s3cret-tokeN', 's3cret-toke', 's3cret-token ', '', undefined])
        expect(secretMatches(given, 's3cret-token')).toBe(false);
    },
  );
});

describe('isLoopbackHost', () => {
  it(
    'when the host is 127.0.0.0/8, ::1 or localhost, then it is loopback; wildcards, other addresses and names ' +
      'are not',
    () => {
      for (const host of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1', 'localhost', 'LocalHost'])
        expect(isLoopbackHost(host), host).toBe(true);
      for (const host of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'ingestion', 'localhost.example.com', ''])
        expect(isLoopbackHost(host), host).toBe(false);
    },
  );
});
