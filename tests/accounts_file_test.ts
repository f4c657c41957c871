/**
 * The accounts file (parse, read, atomic write) and the scrypt password hashes it stores.
 * Hashes here use N = 1024 so that the tests stay fast.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  accountNameProblem,
  parseAccounts,
  readAccountsFile,
  writeAccountsFile,
} from "../core/config/accounts_file.ts";
import { ConfigError } from "../core/config/config_error.ts";
import {
  DEFAULT_SCRYPT_PARAMS,
  hashPassword,
  parsePasswordHash,
  verifyDummy,
  verifyPassword,
} from "../core/util/password_hash.ts";

const FAST = { N: 1024 };

Deno.test("hashPassword/verifyPassword: the right password matches, others do not", async () => {
  const hash = await hashPassword("correct horse", FAST);
  assert.match(hash, /^scrypt\$1024\$8\$1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
  assert.ok(await verifyPassword("correct horse", hash));
  assert.ok(!(await verifyPassword("correct horse ", hash)));
  assert.ok(!(await verifyPassword("", hash)));
  // A fresh salt each time.
  assert.notEqual(await hashPassword("correct horse", FAST), hash);
  // The password is normalized (NFC): a precomposed and a decomposed é are the same.
  const accented = await hashPassword("caf\u00e9", FAST);
  assert.ok(await verifyPassword("cafe\u0301", accented));
});

Deno.test("hashPassword takes the default parameters, and refuses out-of-range ones", async () => {
  assert.deepEqual({ ...DEFAULT_SCRYPT_PARAMS }, { N: 16384, r: 8, p: 1 });
  assert.match(await hashPassword("x"), /^scrypt\$16384\$8\$1\$/);
  await assert.rejects(() => hashPassword("x", { N: 1000 }), RangeError);
  await assert.rejects(() => hashPassword("x", { N: 2 ** 21 }), RangeError);
  await assert.rejects(() => hashPassword("x", { N: 1024, r: 0 }), RangeError);
  await assert.rejects(() => hashPassword("x", { N: 1024, r: 33 }), RangeError);
  await assert.rejects(() => hashPassword("x", { N: 1024, p: 17 }), RangeError);
  // Each within its limit, together over 1 GiB.
  await assert.rejects(() => hashPassword("x", { N: 2 ** 20, r: 16, p: 1 }), /1 GiB/);
});

Deno.test("parsePasswordHash explains what is wrong with a string that is not a hash", async () => {
  const hash = await hashPassword("pw", FAST);
  const parsed = parsePasswordHash(hash);
  assert.ok(typeof parsed !== "string");
  assert.equal(parsed.N, 1024);
  assert.equal(parsed.salt.length, 16);
  assert.equal(parsed.key.length, 32);
  const [, , , , salt, key] = hash.split("$");
  const cases: [string, RegExp][] = [
    ["hunter2", /not a hash of the form/],
    [`bcrypt$1024$8$1$${salt}$${key}`, /not a hash of the form/],
    [`scrypt$1000$8$1$${salt}$${key}`, /N must be a power of two/],
    [`scrypt$x$8$1$${salt}$${key}`, /N must be/],
    [`scrypt$1024$0$1$${salt}$${key}`, /r must be/],
    [`scrypt$1024$8$99$${salt}$${key}`, /p must be/],
    [`scrypt$1024$8$1$!!$${key}`, /salt/],
    [`scrypt$1024$8$1$QUJD$${key}`, /salt/],
    [`scrypt$1024$8$1$${salt}$QUJD`, /hash is not base64/],
  ];
  for (const [text, problem] of cases) {
    const result = parsePasswordHash(text);
    assert.equal(typeof result, "string", text);
    assert.match(result as string, problem, text);
    assert.ok(!(await verifyPassword("pw", text)), `a malformed hash matches nothing: ${text}`);
  }
});

Deno.test("verifyDummy returns false", async () => {
  assert.equal(await verifyDummy("anything"), false);
  assert.equal(await verifyDummy(""), false);
});

Deno.test("parseAccounts accepts a valid file and fills in admin", async () => {
  const hash = await hashPassword("pw", FAST);
  const data = parseAccounts(
    JSON.stringify({ users: { alice: { password: hash, admin: true }, bob: { password: hash } } }),
    "test.json",
  );
  assert.deepEqual(data, {
    users: { alice: { password: hash, admin: true }, bob: { password: hash, admin: false } },
  });
  assert.deepEqual(parseAccounts(`{"users": {}}`, "x"), { users: {} });
});

Deno.test("parseAccounts refuses, naming the file and the account", async () => {
  const hash = await hashPassword("pw", FAST);
  const cases: [unknown, RegExp][] = [
    [[], /expected \{"users"/],
    [{ users: [] }, /expected \{"users"/],
    [{ users: {}, extra: 1 }, /unknown key "extra"/],
    [{ users: { "a b": { password: hash } } }, /account "a b":/],
    [{ users: { server: { password: hash } } }, /operator console/],
    [{ users: { SERVER: { password: hash } } }, /operator console/],
    [{ users: { alice: { password: hash }, aIice: { password: hash } } }, /look-alikes/],
    [{ users: { alice: "pw" } }, /account "alice": expected/],
    [{ users: { alice: {} } }, /"password" is missing/],
    [{ users: { alice: { password: "hunter2" } } }, /is not a hash/],
    [{ users: { alice: { password: hash, admin: "yes" } } }, /"admin" must be true or false/],
    [{ users: { alice: { password: hash, role: "admin" } } }, /unknown key "role"/],
  ];
  for (const [json, problem] of cases) {
    assert.throws(
      () => parseAccounts(JSON.stringify(json), "f.json"),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /^accounts file f\.json: /);
        assert.match(error.message, problem);
        return true;
      },
      JSON.stringify(json),
    );
  }
  assert.throws(() => parseAccounts("{", "f.json"), /not valid JSON/);
});

Deno.test("accountNameProblem: names follow the name rules and are not the console's", () => {
  assert.equal(accountNameProblem("alice"), undefined);
  assert.ok(accountNameProblem(""));
  assert.ok(accountNameProblem("x".repeat(33)));
  assert.match(accountNameProblem("Server") ?? "", /console/);
});

Deno.test("readAccountsFile: missing, folder, and missingIsEmpty", async () => {
  const folder = await Deno.makeTempDir({ prefix: "switchboard-accounts-" });
  try {
    const path = join(folder, "accounts.json");
    await assert.rejects(() => readAccountsFile(path), /no such file/);
    assert.deepEqual(await readAccountsFile(path, { missingIsEmpty: true }), { users: {} });
    await assert.rejects(() => readAccountsFile(folder), ConfigError);
    await Deno.writeTextFile(path, `{"users": {"alice": {"password": "plain"}}}`);
    await assert.rejects(() => readAccountsFile(path), /is not a hash/);
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("writeAccountsFile writes atomically with mode 0600, sorted, and reads back", async () => {
  const folder = await Deno.makeTempDir({ prefix: "switchboard-accounts-" });
  try {
    const path = join(folder, "accounts.json");
    const hash = await hashPassword("pw", FAST);
    // An old file with loose permissions is replaced by a 0600 one.
    await Deno.writeTextFile(path, "old", { mode: 0o644 });
    await writeAccountsFile(path, {
      users: { bob: { password: hash }, Alice: { password: hash, admin: true } },
    });
    if (Deno.build.os !== "windows") assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    const text = await Deno.readTextFile(path);
    assert.ok(text.indexOf('"Alice"') < text.indexOf('"bob"'), "sorted by name");
    assert.ok(text.endsWith("}\n"));
    assert.deepEqual(await readAccountsFile(path), {
      users: { Alice: { password: hash, admin: true }, bob: { password: hash, admin: false } },
    });
    assert.deepEqual([...Deno.readDirSync(folder)].map((entry) => entry.name), [
      "accounts.json",
    ]);
    // A folder that does not exist: the error is thrown and nothing is left anywhere.
    await assert.rejects(() => writeAccountsFile(join(folder, "no", "a.json"), { users: {} }));
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});
