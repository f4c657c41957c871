import assert from "node:assert/strict";
import { CidrList, cidrProblem, isIpAddress } from "../core/util/cidr.ts";

Deno.test("cidr: an IPv4 network matches its addresses and nothing else", () => {
  const list = new CidrList(["10.0.0.0/8", "192.168.1.0/24"]);
  assert.ok(list.matches("10.0.0.1"));
  assert.ok(list.matches("10.255.255.255"));
  assert.ok(list.matches("192.168.1.77"));
  assert.ok(!list.matches("11.0.0.1"));
  assert.ok(!list.matches("192.168.2.1"));
});

Deno.test("cidr: a bare address is a single host", () => {
  const list = new CidrList(["127.0.0.1", "::1"]);
  assert.ok(list.matches("127.0.0.1"));
  assert.ok(!list.matches("127.0.0.2"));
  assert.ok(list.matches("::1"));
  assert.ok(list.matches("0:0:0:0:0:0:0:1"));
  assert.ok(!list.matches("::2"));
});

Deno.test("cidr: IPv6 networks with :: compression", () => {
  const list = new CidrList(["fd00::/8", "2001:db8:abcd::/48"]);
  assert.ok(list.matches("fd12:3456::1"));
  assert.ok(list.matches("2001:db8:abcd:ffff::9"));
  assert.ok(!list.matches("2001:db8:abce::1"));
  assert.ok(!list.matches("fe80::1"));
});

Deno.test("cidr: an IPv4-mapped peer is matched as IPv4", () => {
  const list = new CidrList(["10.0.0.0/8"]);
  assert.ok(list.matches("::ffff:10.1.2.3"));
  assert.ok(list.matches("::ffff:a01:203"));
  assert.ok(!list.matches("::ffff:11.1.2.3"));
  const mapped = new CidrList(["::ffff:192.168.0.0/112"]);
  assert.ok(mapped.matches("192.168.7.7"));
  assert.ok(!mapped.matches("192.169.0.1"));
});

Deno.test("cidr: families never cross", () => {
  assert.ok(!new CidrList(["0.0.0.0/0"]).matches("::1"));
  assert.ok(new CidrList(["0.0.0.0/0"]).matches("8.8.8.8"));
  assert.ok(!new CidrList(["::/0"]).matches("8.8.8.8"));
  assert.ok(new CidrList(["::/0"]).matches("2001:db8::1"));
});

Deno.test("cidr: host bits in the network are ignored", () => {
  assert.ok(new CidrList(["10.1.2.3/8"]).matches("10.200.0.1"));
});

Deno.test("cidr: an empty list matches nothing", () => {
  const list = new CidrList([]);
  assert.ok(list.empty);
  assert.ok(!list.matches("127.0.0.1"));
});

Deno.test("cidr: invalid networks are refused with the reason", () => {
  for (
    const [entry, reason] of [
      ["10.0.0.0/33", /out of range/],
      ["::1/129", /out of range/],
      ["256.0.0.1", /not an IPv4 or IPv6 address/],
      ["10.0.0", /not an IPv4 or IPv6 address/],
      ["01.2.3.4", /not an IPv4 or IPv6 address/],
      ["1::2::3", /not an IPv4 or IPv6 address/],
      ["1:2:3:4:5:6:7:8:9", /not an IPv4 or IPv6 address/],
      ["example.com", /not an IPv4 or IPv6 address/],
      ["10.0.0.0/x", /not a prefix length/],
      ["10.0.0.0/", /not a prefix length/],
    ] as const
  ) {
    assert.match(cidrProblem(entry) ?? "", reason, entry);
    assert.throws(
      () => new CidrList([entry]),
      new RegExp(`invalid network "${entry.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}"`),
    );
  }
  assert.equal(cidrProblem("10.0.0.0/8"), undefined);
});

Deno.test("cidr: isIpAddress accepts both families and brackets", () => {
  assert.ok(isIpAddress("127.0.0.1"));
  assert.ok(isIpAddress("::"));
  assert.ok(isIpAddress("[::1]"));
  assert.ok(!isIpAddress("localhost"));
  assert.ok(!isIpAddress(""));
});
