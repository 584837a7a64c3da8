import { expect } from 'chai';
import * as fc from 'fast-check';
import * as A from '../../protocol/address';

const v6 = fc.uint8Array({ minLength: 16, maxLength: 16 });

describe('protocol/address', () => {
  describe('IPv4', () => {
    it('parses and formats dotted quads', () => {
      expect(A.parseIpv4('192.0.2.1')).to.equal(0xc0000201);
      expect(A.parseIpv4('255.255.255.255')).to.equal(0xffffffff);
      expect(A.parseIpv4('0.0.0.0')).to.equal(0);
      expect(A.formatIpv4(0xc0000201)).to.equal('192.0.2.1');
      for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1..2.3', '01.2.3.4', ' 1.2.3.4', '1.2.3.4 ', 'a.b.c.d', '1.2.3.-4',
        '1.2.3.4/24', '::1']) {
        expect(A.parseIpv4(bad), bad).to.equal(null);
      }
      expect(A.parseIpv4(undefined as unknown as string)).to.equal(null);
    });
    it('round-trips every address (property)', () => {
      fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
        expect(A.parseIpv4(A.formatIpv4(n))).to.equal(n);
      }));
    });
    it('masks, prefixes, CIDR', () => {
      expect(A.ipv4Mask(0)).to.equal(0);
      expect(A.ipv4Mask(24)).to.equal(0xffffff00);
      expect(A.ipv4Mask(32)).to.equal(0xffffffff);
      expect(A.ipv4MaskLen(0xffffff00)).to.equal(24);
      expect(A.ipv4MaskLen(0)).to.equal(0);
      expect(A.ipv4MaskLen(0xffffffff)).to.equal(32);
      expect(A.ipv4MaskLen(0xff00ff00)).to.equal(null);
      const net = A.parseIpv4('192.0.2.0')!;
      expect(A.ipv4PrefixMatch(A.parseIpv4('192.0.2.77')!, net, 24)).to.equal(true);
      expect(A.ipv4PrefixMatch(A.parseIpv4('192.0.3.77')!, net, 24)).to.equal(false);
      expect(A.ipv4PrefixMatch(1, 2, 0)).to.equal(true);
      expect(A.ipv4Network(A.parseIpv4('192.0.2.77')!, 24)).to.equal(net);
      expect(A.formatIpv4(A.ipv4SubnetBroadcast(net, 24))).to.equal('192.0.2.255');
      expect(A.parseIpv4Cidr('198.51.100.0/24')).to.deep.equal({ addr: 0xc6336400, prefixLen: 24 });
      expect(A.parseIpv4Cidr('198.51.100.0/33')).to.equal(null);
      expect(A.parseIpv4Cidr('198.51.100.0/024')).to.equal(null);
      expect(A.parseIpv4Cidr('198.51.100.0')).to.equal(null);
      expect(A.formatIpv4Cidr({ addr: 0xcb007100, prefixLen: 24 })).to.equal('203.0.113.0/24');
      expect(A.parseCidr('203.0.113.0/24')).to.deep.equal({ family: 4, addr: 0xcb007100, prefixLen: 24 });
    });
    it('scopes', () => {
      const p = (s: string) => A.parseIpv4(s)!;
      expect(A.ipv4IsLoopback(p('127.1.2.3'))).to.equal(true);
      expect(A.ipv4IsLinkLocal(p('169.254.9.9'))).to.equal(true);
      expect(A.ipv4IsMulticast(p('224.0.0.251'))).to.equal(true);
      expect(A.ipv4IsMulticast(p('240.0.0.1'))).to.equal(false);
      expect(A.ipv4IsBroadcast(p('255.255.255.255'))).to.equal(true);
      expect(A.ipv4IsUnspecified(0)).to.equal(true);
      expect(A.ipv4IsPrivate(p('172.31.0.1'))).to.equal(true);
      expect(A.ipv4IsPrivate(p('172.32.0.1'))).to.equal(false);
      expect(A.ipv4IsDocumentation(p('203.0.113.9'))).to.equal(true);
      expect(A.ipv4IsUnicast(p('192.0.2.1'))).to.equal(true);
      expect(A.ipv4IsUnicast(p('240.0.0.1'))).to.equal(false);
    });
    it('RFC 1112 multicast MAC: low 23 bits under 01:00:5e', () => {
      expect(A.formatMac(A.ipv4MulticastMac(A.parseIpv4('224.0.0.251')!))).to.equal('01:00:5e:00:00:fb');
      expect(A.formatMac(A.ipv4MulticastMac(A.parseIpv4('239.255.255.250')!))).to.equal('01:00:5e:7f:ff:fa');
    });
    it('byte conversion', () => {
      const b = A.ipv4ToBytes(0xc0000201);
      expect(Array.from(b)).to.deep.equal([192, 0, 2, 1]);
      expect(A.ipv4FromBytes(b)).to.equal(0xc0000201);
    });
  });

  describe('IPv6', () => {
    it('parses the RFC 4291 forms', () => {
      const cases: Array<[string, string]> = [
        ['::', '00000000000000000000000000000000'],
        ['::1', '00000000000000000000000000000001'],
        ['2001:db8::1', '20010db8000000000000000000000001'],
        ['2001:DB8:0:0:8:800:200C:417A', '20010db80000000000080800200c417a'],
        ['ff02::1:ff00:1234', 'ff0200000000000000000001ff001234'],
        ['::ffff:192.0.2.1', '00000000000000000000ffffc0000201'],
        ['64:ff9b::198.51.100.7', '0064ff9b000000000000000000c6336407'.slice(0, 24) + 'c6336407'],
        ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
        ['1::', '00010000000000000000000000000000'],
        ['1:2:3:4:5:6::8', '00010002000300040005000600000008'],
      ];
      for (const [s, h] of cases) expect(Buffer.from(A.parseIpv6(s)!).toString('hex'), s).to.equal(h);
    });
    it('rejects bad text', () => {
      for (const bad of ['', ':', ':::', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', '1:', ':1', 'g::',
        '::1.2.3', '::1.2.3.4.5', '1:2:3:4:5:6:7:1.2.3.4', 'fe80::1%eth0', '::ffff:01.2.3.4', ' ::1', '1:2:3:4:5:6:7:8::']) {
        expect(A.parseIpv6(bad), bad).to.equal(null);
      }
    });
    it('formats per RFC 5952', () => {
      const f = (s: string) => A.formatIpv6(A.parseIpv6(s)!);
      expect(f('2001:0db8:0000:0000:0000:0000:0000:0001')).to.equal('2001:db8::1'); // 4.1, 4.2.1
      expect(f('2001:db8:0:1:1:1:1:1')).to.equal('2001:db8:0:1:1:1:1:1'); // 4.2.2: no :: for one field
      expect(f('2001:0:0:1:0:0:0:1')).to.equal('2001:0:0:1::1'); // 4.2.3 longest run
      expect(f('2001:db8:0:0:1:0:0:1')).to.equal('2001:db8::1:0:0:1'); // 4.2.3 first on a tie
      expect(f('2001:DB8::ABCD')).to.equal('2001:db8::abcd'); // 4.3 lowercase
      expect(f('::ffff:c000:0201')).to.equal('::ffff:192.0.2.1'); // 5
      expect(f('::')).to.equal('::');
      expect(f('1::')).to.equal('1::');
      expect(f('::1')).to.equal('::1');
    });
    it('round-trips every address (property)', () => {
      fc.assert(fc.property(v6, (a) => {
        const s = A.formatIpv6(a);
        expect(A.parseIpv6(s)).to.deep.equal(a);
        expect(A.formatIpv6(A.parseIpv6(s)!)).to.equal(s);
      }));
    });
    it('prefixes and CIDR', () => {
      const a = A.parseIpv6('2001:db8:abcd:12ff::1')!;
      expect(A.formatIpv6(A.ipv6Prefix(a, 48))).to.equal('2001:db8:abcd::');
      expect(A.formatIpv6(A.ipv6Prefix(a, 60))).to.equal('2001:db8:abcd:12f0::');
      expect(A.formatIpv6(A.ipv6Prefix(a, 52))).to.equal('2001:db8:abcd:1000::');
      expect(A.ipv6PrefixMatch(a, A.parseIpv6('2001:db8:abcd:1200::')!, 56)).to.equal(true);
      expect(A.ipv6PrefixMatch(a, A.parseIpv6('2001:db8:abcd:1300::')!, 56)).to.equal(false);
      expect(A.ipv6PrefixMatch(a, A.parseIpv6('::')!, 0)).to.equal(true);
      expect(A.ipv6CommonPrefixLen(a, A.parseIpv6('2001:db8:abcd:1300::')!)).to.equal(55);
      expect(A.formatIpv6(A.ipv6Mask(64))).to.equal('ffff:ffff:ffff:ffff::');
      const c = A.parseIpv6Cidr('2001:db8::/32')!;
      expect(c.prefixLen).to.equal(32);
      expect(A.formatIpv6Cidr(c)).to.equal('2001:db8::/32');
      expect(A.parseIpv6Cidr('2001:db8::/129')).to.equal(null);
      expect(A.parseCidr('2001:db8::/64')!.family).to.equal(6);
      expect(A.parseCidr('nonsense')).to.equal(null);
    });
    it('prefix match agrees with a bit-by-bit definition (property)', () => {
      fc.assert(fc.property(v6, v6, fc.integer({ min: 0, max: 128 }), (a, b, len) => {
        let same = true;
        for (let i = 0; i < len; i++) if (((a[i >> 3] ^ b[i >> 3]) & (0x80 >> (i & 7))) !== 0) same = false;
        expect(A.ipv6PrefixMatch(a, b, len)).to.equal(same);
        expect(A.ipv6PrefixMatch(A.ipv6Prefix(a, len), a, len)).to.equal(true);
        expect(A.ipv6CommonPrefixLen(a, b) >= len).to.equal(same);
      }));
    });
    it('scopes', () => {
      const p = (s: string) => A.parseIpv6(s)!;
      expect(A.ipv6IsUnspecified(p('::'))).to.equal(true);
      expect(A.ipv6IsLoopback(p('::1'))).to.equal(true);
      expect(A.ipv6IsLoopback(p('::2'))).to.equal(false);
      expect(A.ipv6IsMulticast(p('ff02::1'))).to.equal(true);
      expect(A.ipv6IsLinkLocal(p('fe80::1'))).to.equal(true);
      expect(A.ipv6IsLinkLocal(p('febf::1'))).to.equal(true);
      expect(A.ipv6IsLinkLocal(p('fec0::1'))).to.equal(false);
      expect(A.ipv6IsLinkLocalMulticast(p('ff02::2'))).to.equal(true);
      expect(A.ipv6MulticastScope(p('ff05::2'))).to.equal(5);
      expect(A.ipv6MulticastScope(p('2001:db8::'))).to.equal(-1);
      expect(A.ipv6IsUniqueLocal(p('fd00::1'))).to.equal(true);
      expect(A.ipv6IsDocumentation(p('2001:db8::7'))).to.equal(true);
      expect(A.ipv6IsIpv4Mapped(p('::ffff:192.0.2.1'))).to.equal(true);
      expect(A.ipv6Equal(A.ipv6FromIpv4Mapped(0xc0000201), p('::ffff:192.0.2.1'))).to.equal(true);
      expect(A.ipv6Equal(A.ipv6AllNodes(), p('ff02::1'))).to.equal(true);
      expect(A.ipv6Equal(A.ipv6AllRouters(), p('ff02::2'))).to.equal(true);
      expect(A.ipv6Equal(A.ipv6Loopback(), p('::1'))).to.equal(true);
      expect(A.ipv6IsUnspecified(A.ipv6Unspecified())).to.equal(true);
      expect(A.ipv6Compare(p('::1'), p('::2'))).to.equal(-1);
      expect(A.ipv6Compare(p('::2'), p('::2'))).to.equal(0);
    });
    it('solicited-node (RFC 4291 2.7.1) and multicast MAC (RFC 2464 7)', () => {
      const a = A.parseIpv6('2001:db8::2aa:ff:fe28:9c5a')!;
      const sn = A.ipv6SolicitedNode(a);
      expect(A.formatIpv6(sn)).to.equal('ff02::1:ff28:9c5a');
      expect(A.ipv6IsSolicitedNode(sn)).to.equal(true);
      expect(A.ipv6IsSolicitedNode(a)).to.equal(false);
      expect(A.formatMac(A.ipv6MulticastMac(sn))).to.equal('33:33:ff:28:9c:5a');
      expect(A.formatMac(A.ipv6MulticastMac(A.parseIpv6('ff02::1')!))).to.equal('33:33:00:00:00:01');
    });
    it('EUI-64 from a MAC (RFC 4291 appendix A)', () => {
      const mac = A.parseMac('00:aa:00:3f:2a:1c')!;
      expect(Buffer.from(A.eui64FromMac(mac)).toString('hex')).to.equal('02aa00fffe3f2a1c');
      expect(A.formatIpv6(A.ipv6LinkLocalFromMac(mac))).to.equal('fe80::2aa:ff:fe3f:2a1c');
    });
    it('in-place comparison', () => {
      const buf = new Uint8Array(40);
      const a = A.parseIpv6('2001:db8::9')!;
      A.ipv6ToBytes(a, buf, 7);
      expect(A.ipv6EqualAt(a, buf, 7)).to.equal(true);
      expect(A.ipv6Equal(A.ipv6FromBytes(buf, 7), a)).to.equal(true);
    });
  });

  describe('MAC', () => {
    it('parses and formats', () => {
      expect(A.formatMac(A.parseMac('02:00:00:AB:cd:0F')!)).to.equal('02:00:00:ab:cd:0f');
      expect(A.formatMac(A.parseMac('02-00-00-ab-cd-0f')!)).to.equal('02:00:00:ab:cd:0f');
      for (const bad of ['', '02:00:00:ab:cd', '02:00:00:ab:cd:0g', '02:00-00:ab:cd:0f', '0200.00ab.cd0f', '02:00:00:ab:cd:0f:']) {
        expect(A.parseMac(bad), bad).to.equal(null);
      }
    });
    it('round-trips (property)', () => {
      fc.assert(fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), (m) => {
        expect(A.parseMac(A.formatMac(m))).to.deep.equal(m);
      }));
    });
    it('classifies', () => {
      expect(A.macIsBroadcast(A.macBroadcast())).to.equal(true);
      expect(A.macIsMulticast(A.parseMac('01:00:5e:00:00:01')!)).to.equal(true);
      expect(A.macIsUnicast(A.parseMac('02:00:00:00:00:01')!)).to.equal(true);
      expect(A.macIsLocal(A.parseMac('02:00:00:00:00:01')!)).to.equal(true);
      expect(A.macEqual(A.macZero(), new Uint8Array(6))).to.equal(true);
      const buf = new Uint8Array(10);
      buf.set([1, 2, 3, 4, 5, 6], 2);
      expect(A.macEqualAt(Uint8Array.of(1, 2, 3, 4, 5, 6), buf, 2)).to.equal(true);
    });
  });

  it('text parsers never throw and return null or a value on random strings (property)', () => {
    fc.assert(fc.property(fc.string({ maxLength: 50 }), (s) => {
      for (const f of [A.parseIpv4, A.parseIpv6, A.parseMac, A.parseIpv4Cidr, A.parseIpv6Cidr, A.parseCidr, A.parseIp]) {
        f(s);
      }
    }), { numRuns: 2000 });
    fc.assert(fc.property(fc.array(fc.constantFrom(...'0123456789abcdefABCDEF:.'.split('')), { maxLength: 45 }), (cs) => {
      const s = cs.join('');
      const a = A.parseIpv6(s);
      if (a !== null) {
        expect(a.length).to.equal(16);
        expect(A.parseIpv6(A.formatIpv6(a))).to.deep.equal(a);
      }
    }), { numRuns: 3000 });
  });
});
