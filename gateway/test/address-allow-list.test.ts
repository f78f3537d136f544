import { describe, expect, it } from 'vitest';
import { AddressAllowList, DEFAULT_UPSTREAM_ALLOW } from '../src/upstreams/address-allow-list.js';

describe('UPSTREAM_ALLOW', () => {
  const defaults = AddressAllowList.parse(DEFAULT_UPSTREAM_ALLOW);

  it('when the default is used, then loopback, RFC 1918 and unique-local addresses pass', () => {
    for (const ip of [
      '127.0.0.1',
      '127.3.4.5',
      '::1',
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.254',
      '192.168.1.1',
      'fd12::1',
      '::ffff:127.0.0.1',
    ]) {
      expect(defaults.allows(ip), ip).toBe(true);
    }
  });

  it(
    'when the default is used, then public, link-local, metadata and unspecified addresses and host names are ' +
      'refused',
    () => {
      for (const ip of [
        '8.8.8.8',
        '172.32.0.1',
        '100.64.0.1',
        '2001:db8::1',
        '169.254.169.254',
        '169.254.1.1',
        'fe80::1',
        'fe80::1%eth0',
        'fd00:ec2::254',
        '::ffff:169.254.169.254',
        '::ffff:a9fe:a9fe',
        '0.0.0.0',
        '::',
        'localhost',
        'provider',
        '',
      ]) {
        expect(defaults.allows(ip), ip).toBe(false);
      }
    },
  );

  it('when everything is allowed, then link-local and metadata addresses still are not', () => {
    const all = AddressAllowList.parse('0.0.0.0/0, ::/0');
    expect(all.allows('8.8.8.8')).toBe(true);
    expect(all.allows('2001:db8::1')).toBe(true);
    for (const ip of ['169.254.169.254', '169.254.1.1', 'fe80::1', 'fd00:ec2::254', '0.0.0.0', '::'])
      expect(all.allows(ip), ip).toBe(false);
  });

  it('when link-local is listed itself, then it passes, but the metadata address only when listed itself', () => {
    const linkLocal = AddressAllowList.parse('169.254.0.0/16, fe80::/10');
    expect(linkLocal.allows('169.254.1.1')).toBe(true);
    expect(linkLocal.allows('fe80::1')).toBe(true);
    expect(linkLocal.allows('169.254.169.254')).toBe(false);
    const metadata = AddressAllowList.parse('169.254.169.254, fd00:ec2::254/128');
    expect(metadata.allows('169.254.169.254')).toBe(true);
    expect(metadata.allows('fd00:ec2::254')).toBe(true);
    expect(metadata.allows('169.254.1.1')).toBe(false);
  });

  it.each(['', ' , ', 'not-an-address', '10.0.0.0/33', '::1/129', '10.0.0.0/8/1', '10.0.0.0/-1', 'localhost'])(
    'when it is "%s", then it is refused at start, naming the entry',
    (text) => {
      expect(() => AddressAllowList.parse(text)).toThrow(
        expect.objectContaining({ code: 'LZ_ERR_GATEWAY_UPSTREAM_ALLOW' }),
      );
    },
  );
});
