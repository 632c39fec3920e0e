import { describe, expect, it } from 'vitest';
import { createAddressGuard } from './address-guard.js';

describe('createAddressGuard().checkHost', () => {
  const blocking = createAddressGuard({
    blockPrivate: true,
    allowed: ['10.20.0.0/16', '192.168.1.7', 'hooks.internal'],
  });

  it.each([
    ['127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['0.0.0.0', 'unspecified'],
    ['[::1]', 'loopback'],
    ['[::ffff:127.0.0.1]', 'loopback'], // an IPv4-mapped address is judged as the IPv4 one it carries
    ['[fd00::1]', 'uniqueLocal'],
  ])('refuses %s (%s)', (host, range) => {
    expect(() => blocking.checkHost(host)).toThrow(`is not public (${range})`);
  });

  it.each(['93.184.215.14', '[2606:2800:21f:cb07:6820:80da:af6b:8b2c]', '10.20.3.4', '192.168.1.7', 'example.com'])(
    'lets %s through (public, allowed, or a name checked when it connects)',
    (host) => expect(() => blocking.checkHost(host)).not.toThrow(),
  );

  it('lets everything through when private addresses are not blocked', () => {
    const open = createAddressGuard({ blockPrivate: false, allowed: [] });
    expect(() => open.checkHost('127.0.0.1')).not.toThrow();
  });
});
