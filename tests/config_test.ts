import assert from "node:assert/strict";
import { join } from "node:path";
import {
  ConfigError,
  loadServerConfig,
  SERVER_USAGE,
  settingSource,
} from "../core/config/config_file.ts";
import { DEFAULT_OPTIONS } from "../core/config/options.ts";

async function withConfigFile<T>(json: unknown, run: (path: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "switchboard-config-" });
  const path = join(dir, "switchboard.json");
  await Deno.writeTextFile(path, typeof json === "string" ? json : JSON.stringify(json));
  try {
    return await run(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function refused(args: string[], env: Record<string, string>, message: RegExp) {
  await assert.rejects(loadServerConfig(args, env), (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`);
    assert.match(error.message, message);
    return true;
  });
}

Deno.test("config: no sources means no options, so every default applies", async () => {
  const config = await loadServerConfig([], {});
  assert.deepEqual(config.options, {});
  assert.equal(config.help, false);
});

Deno.test("config: flags beat environment beat file", async () => {
  await withConfigFile(
    { port: 1111, maxClients: 7, idleTimeout: 9, mode: "echo" },
    async (path) => {
      const config = await loadServerConfig(
        ["--config", path, "--port", "3333"],
        { SWITCHBOARD_PORT: "2222", SWITCHBOARD_MAX_CLIENTS: "8" },
      );
      assert.equal(config.options.port, 3333);
      assert.equal(config.options.maxClients, 8);
      assert.equal(config.options.idleTimeout, 9);
      assert.equal(config.options.mode, "echo");
      assert.equal(config.configFile, path);
    },
  );
});

Deno.test("config: the config file can come from SWITCHBOARD_CONFIG", async () => {
  await withConfigFile({ maxPerIp: 3 }, async (path) => {
    const config = await loadServerConfig([], { SWITCHBOARD_CONFIG: path });
    assert.equal(config.options.maxPerIp, 3);
  });
});

Deno.test("config: every flag is read, with its value converted", async () => {
  const config = await loadServerConfig([
    "--host=::1",
    "--port=0",
    "--mode=echo",
    "--max-clients=5",
    "--max-per-ip=2",
    "--idle-timeout=0.5",
    "--ping-interval=0",
    "--ping-timeout=1.5",
    "--register-timeout=3",
    "--max-line-bytes=1024",
    "--max-queue-bytes=65536",
    "--write-deadline=2",
    "--rate-limit=10",
    "--announce-limit=0",
    "--shutdown-grace=1",
    "--allow=127.0.0.0/8,::1",
    "--allow=10.0.0.0/8",
    "--deny=10.9.0.0/16",
    "--admin=127.0.0.1",
    "--token-file=t.token",
    "--log-dir=",
    "--log-format=json",
    "--log-messages=meta",
    "--no-console",
  ], {});
  assert.deepEqual(config.options, {
    host: "::1",
    port: 0,
    mode: "echo",
    maxClients: 5,
    maxPerIp: 2,
    idleTimeout: 0.5,
    pingInterval: 0,
    pingTimeout: 1.5,
    registerTimeout: 3,
    maxLineBytes: 1024,
    maxQueueBytes: 65536,
    writeDeadline: 2,
    rateLimit: 10,
    announceLimit: 0,
    shutdownGrace: 1,
    access: { allow: ["127.0.0.0/8", "::1", "10.0.0.0/8"], deny: ["10.9.0.0/16"] },
    admins: ["127.0.0.1"],
    tokenFile: "t.token",
    logDir: "",
    logFormat: "json",
    logMessages: "meta",
    console: false,
  });
});

Deno.test("config: environment variables are SWITCHBOARD_ plus the flag in upper snake case", async () => {
  const config = await loadServerConfig([], {
    SWITCHBOARD_HOST: "127.0.0.1",
    SWITCHBOARD_MAX_LINE_BYTES: "2048",
    SWITCHBOARD_DENY: "192.168.0.0/16, 10.0.0.1",
    SWITCHBOARD_ADMIN: "::1",
    SWITCHBOARD_CONSOLE: "yes",
    SWITCHBOARD_ADMIN_TOKEN: "s3cret-token",
    SWITCHBOARD_LOG_FORMAT: "json",
    UNRELATED: "ignored",
    SWITCHBOARD_PORT: "",
  });
  assert.deepEqual(config.options, {
    host: "127.0.0.1",
    maxLineBytes: 2048,
    access: { deny: ["192.168.0.0/16", "10.0.0.1"] },
    admins: ["::1"],
    console: true,
    adminToken: "s3cret-token",
    logFormat: "json",
  });
});

Deno.test("config: the file uses camelCase keys and nested access lists", async () => {
  await withConfigFile(
    {
      maxClients: 50,
      access: { allow: ["10.0.0.0/8"], deny: ["10.1.0.0/16"] },
      admins: ["127.0.0.1", "::1"],
      adminToken: "from-the-file",
      console: true,
    },
    async (path) => {
      const { options } = await loadServerConfig(["--config", path], {});
      assert.equal(options.maxClients, 50);
      assert.deepEqual(options.access, { allow: ["10.0.0.0/8"], deny: ["10.1.0.0/16"] });
      assert.deepEqual(options.admins, ["127.0.0.1", "::1"]);
      assert.equal(options.adminToken, "from-the-file");
      assert.equal(options.console, true);
    },
  );
});

Deno.test("config: relative paths in the file are relative to the file's folder", async () => {
  await withConfigFile({ logDir: "logs", tokenFile: "/abs/admin.token" }, async (path) => {
    const { options } = await loadServerConfig(["--config", path], {});
    assert.equal(options.logDir, join(path, "..", "logs"));
    assert.equal(options.tokenFile, "/abs/admin.token");
  });
});

Deno.test("config: TLS settings come from the file (paths anchored), variables and flags", async () => {
  await withConfigFile(
    { tlsCert: "tls/cert.pem", tlsKey: "/abs/key.pem", tlsPort: 0 },
    async (path) => {
      const { options } = await loadServerConfig(["--config", path, "--tls-only"], {
        SWITCHBOARD_TLS_PORT: "8443",
      });
      assert.equal(options.tlsCert, join(path, "..", "tls/cert.pem"));
      assert.equal(options.tlsKey, "/abs/key.pem");
      assert.equal(options.tlsPort, 8443);
      assert.equal(options.tlsOnly, true);
    },
  );
  await refused(["--tls-cert", "c.pem"], {}, /^--tls-cert needs --tls-key/);
  await refused([], { SWITCHBOARD_TLS_KEY: "k.pem" }, /^--tls-key needs --tls-cert/);
  await refused(["--tls-only"], {}, /^--tls-only needs --tls-cert and --tls-key$/);
});

Deno.test("config: --help and --version win over everything else", async () => {
  assert.equal((await loadServerConfig(["--port", "x", "--help"], {})).help, true);
  assert.equal((await loadServerConfig(["--version"], {})).version, true);
  assert.match(SERVER_USAGE, /--max-clients N\s+connections at once.*\(default 100\)/);
  for (const line of SERVER_USAGE.split("\n")) assert.ok(line.length <= 100, line);
});

Deno.test("config: invalid flag values are refused naming the flag and the reason", async () => {
  await refused(
    ["--port", "65536"],
    {},
    /^--port: expected a port number from 0 to 65535, got "65536"$/,
  );
  await refused(["--port", "-1"], {}, /^--port: expected a port number from 0 to 65535, got "-1"$/);
  await refused(["--max-clients", "-5"], {}, /^--max-clients: expected a whole number from 1/);
  await refused(["--idle-timeout", "-1"], {}, /^--idle-timeout: expected a number of seconds/);
  await refused(["--file-quota", "-1"], {}, /^--file-quota: expected a number of bytes/);
  await refused(["--host", "999.1.1.1"], {}, /^--host: expected an IP address or localhost/);
  await refused(["--host", "example.com"], {}, /^--host:/);
  await refused(["--mode", "relay"], {}, /^--mode: expected "chat" or "echo", got "relay"$/);
  await refused(["--max-clients", "0"], {}, /^--max-clients: expected a whole number from 1/);
  await refused(["--max-clients", "2.5"], {}, /^--max-clients:/);
  await refused(["--idle-timeout", "soon"], {}, /^--idle-timeout: expected a number of seconds/);
  await refused(
    ["--ping-timeout", "0"],
    {},
    /^--ping-timeout: expected a number of seconds greater than 0/,
  );
  await refused(["--log-format", "xml"], {}, /^--log-format: expected "text" or "json"/);
  await refused(
    ["--allow", "10.0.0.0/33"],
    {},
    /^--allow: invalid network "10.0.0.0\/33": prefix length/,
  );
  await refused(["--deny", "nonsense"], {}, /^--deny: invalid network "nonsense"/);
  await refused(
    ["--max-line-bytes", "65536", "--max-queue-bytes", "65536"],
    {},
    /maxQueueBytes \(65536\) must be at least 4 × maxLineBytes/,
  );
});

Deno.test("config: unknown flags, missing values and stray arguments are refused", async () => {
  await refused(["--bogus"], {}, /^unknown option --bogus$/);
  await refused(["--port"], {}, /^option --port needs a value$/);
  await refused(["--host", "-x"], {}, /^option --host needs a value \(write --host=VALUE /);
  await refused(["--port", "--", "-1"], {}, /^option --port needs a value/);
  await refused(["8080"], {}, /^unexpected argument "8080"/);
  await refused(["--admin-token", "x"], {}, /^unknown option --admin-token$/);
});

Deno.test("config: a negative number after a flag is its value, not another flag", async () => {
  // Refused by range, so read as the value; "--" still ends the flags.
  await refused(["--shutdown-grace", "-.5"], {}, /^--shutdown-grace: expected a number of seconds/);
  await refused(["--", "--port", "-1"], {}, /^unexpected argument "--port"/);
});

Deno.test("config: sources name where each option came from, for messages", async () => {
  await withConfigFile({ filesDir: "area", mode: "echo" }, async (path) => {
    const config = await loadServerConfig(
      ["--config", path, "--log-dir", "l"],
      { SWITCHBOARD_SPOOL_DIR: "s", SWITCHBOARD_MODE: "chat" },
    );
    assert.deepEqual(config.sources, {
      config: "--config",
      logDir: "--log-dir",
      spoolDir: "SWITCHBOARD_SPOOL_DIR",
      mode: "SWITCHBOARD_MODE",
      filesDir: `config file ${path}: key "filesDir"`,
    });
    assert.equal(settingSource(config, "tokenFile"), "--token-file");
    assert.equal(settingSource(config, "adminToken"), "SWITCHBOARD_ADMIN_TOKEN");
  });
});

Deno.test("config: invalid environment values name the variable", async () => {
  await refused(
    [],
    { SWITCHBOARD_MAX_CLIENTS: "lots" },
    /^SWITCHBOARD_MAX_CLIENTS: expected a whole number/,
  );
  await refused(
    [],
    { SWITCHBOARD_CONSOLE: "maybe" },
    /^SWITCHBOARD_CONSOLE: expected true or false/,
  );
  await refused(
    [],
    { SWITCHBOARD_ADMIN_TOKEN: "short" },
    /^SWITCHBOARD_ADMIN_TOKEN: expected 8 to 256 characters without spaces/,
  );
  await refused([], { SWITCHBOARD_ALLOW: "1.2.3.4/40" }, /^SWITCHBOARD_ALLOW: invalid network/);
});

Deno.test("config: file problems name the file and the key", async () => {
  await refused(
    ["--config", "/no/such/switchboard.json"],
    {},
    /^config file \/no\/such\/switchboard.json: no such file or folder$/,
  );
  await withConfigFile(
    "{ not json",
    (path) => refused(["--config", path], {}, /^config file .*: not valid JSON/),
  );
  await withConfigFile([1, 2], (path) => refused(["--config", path], {}, /expected a JSON object/));
  await withConfigFile(
    { maxClient: 5 },
    (path) => refused(["--config", path], {}, /: unknown key "maxClient"$/),
  );
  await withConfigFile(
    { maxClients: "5" },
    (path) =>
      refused(
        ["--config", path],
        {},
        /: key "maxClients": expected a whole number from 1 to 1000000, got "5"$/,
      ),
  );
  await withConfigFile(
    { port: 70000 },
    (path) => refused(["--config", path], {}, /: key "port": expected a port number/),
  );
  await withConfigFile(
    { host: "1.2.3" },
    (path) => refused(["--config", path], {}, /: key "host": expected an IP address/),
  );
  await withConfigFile(
    { access: ["10.0.0.0/8"] },
    (path) => refused(["--config", path], {}, /: key "access": expected an object/),
  );
  await withConfigFile(
    { access: { permit: [] } },
    (path) => refused(["--config", path], {}, /: unknown key "access.permit"$/),
  );
  await withConfigFile(
    { access: { deny: "10.0.0.0/8" } },
    (path) => refused(["--config", path], {}, /: key "access.deny": expected a list/),
  );
  await withConfigFile(
    { admins: ["300.0.0.1"] },
    (path) => refused(["--config", path], {}, /: key "admins": invalid network "300.0.0.1"/),
  );
  await withConfigFile(
    { console: "yes" },
    (path) => refused(["--config", path], {}, /: key "console": expected true or false/),
  );
  await withConfigFile(
    { config: "other.json" },
    (path) => refused(["--config", path], {}, /: unknown key "config"$/),
  );
});

Deno.test("config: --log-messages is full, meta or off, from a flag, the environment or the file", async () => {
  assert.equal(DEFAULT_OPTIONS.logMessages, "full");
  assert.match(
    SERVER_USAGE,
    /\n {2}--log-messages MODE +message lines: full \(with text\), meta \(without\) or off \(default full\)\n/,
  );
  assert.equal(
    (await loadServerConfig(["--log-messages", "meta"], {})).options.logMessages,
    "meta",
  );
  const env = { SWITCHBOARD_LOG_MESSAGES: "off" };
  assert.equal((await loadServerConfig([], env)).options.logMessages, "off");
  assert.equal((await loadServerConfig(["--log-messages=full"], env)).options.logMessages, "full");
  await withConfigFile({ logMessages: "meta" }, async (path) => {
    const config = await loadServerConfig(["--config", path], {});
    assert.equal(config.options.logMessages, "meta");
  });
  const expected = 'expected "full", "meta" or "off"';
  await refused(
    ["--log-messages", "all"],
    {},
    new RegExp(`^--log-messages: ${expected}, got "all"$`),
  );
  await refused(
    [],
    { SWITCHBOARD_LOG_MESSAGES: "FULL" },
    new RegExp(`^SWITCHBOARD_LOG_MESSAGES: ${expected}, got "FULL"$`),
  );
  await withConfigFile(
    { logMessages: false },
    (path) =>
      refused(["--config", path], {}, new RegExp(`: key "logMessages": ${expected}, got false$`)),
  );
});

Deno.test("config: file area, transfer and ack settings from flags, with byte sizes", async () => {
  const config = await loadServerConfig([
    "--files-dir=area",
    "--file-quota=64M",
    "--area-quota=1.5G",
    "--spool-dir=/var/spool/sb",
    "--spool-quota=1048576",
    "--spool-sender-quota=2M",
    "--offer-timeout=60",
    "--ack",
  ], {});
  assert.deepEqual(config.options, {
    filesDir: "area",
    fileQuota: 64 * 1024 * 1024,
    areaQuota: 1.5 * 1024 * 1024 * 1024,
    spoolDir: "/var/spool/sb",
    spoolQuota: 1048576,
    spoolSenderQuota: 2 * 1024 * 1024,
    offerTimeout: 60,
    ack: true,
  });
  assert.equal((await loadServerConfig(["--no-ack"], {})).options.ack, false);
  const env = await loadServerConfig([], { SWITCHBOARD_FILE_QUOTA: "10k", SWITCHBOARD_ACK: "yes" });
  assert.deepEqual(env.options, { fileQuota: 10240, ack: true });
  await refused(["--file-quota", "lots"], {}, /^--file-quota: expected a number of bytes/);
  await refused(["--area-quota=-5"], {}, /^--area-quota: expected a number of bytes/);
  await refused(["--offer-timeout", "0"], {}, /^--offer-timeout: expected a number of seconds/);
  assert.match(SERVER_USAGE, /--files-dir DIR\s+shared file area/);
  assert.match(SERVER_USAGE, /--file-quota BYTES\s+largest file.*0 = no limit \(default 1G\)/);
  assert.match(SERVER_USAGE, /--spool-quota BYTES\s+.*0 = no limit \(default 4G\)/);
  assert.match(SERVER_USAGE, /--spool-sender-quota BYTES\s+.*0 = no limit \(default 1G\)/);
  // 0 is what an operator writes to lift a limit.
  const unlimited = await loadServerConfig(["--file-quota=0", "--spool-quota=0"], {
    SWITCHBOARD_SPOOL_SENDER_QUOTA: "0",
  });
  assert.deepEqual(unlimited.options, { fileQuota: 0, spoolQuota: 0, spoolSenderQuota: 0 });
  assert.match(SERVER_USAGE, /--ack \/ --no-ack\s+acknowledge/);
  assert.match(SERVER_USAGE, /Commands for :run come only from the file/);
});

Deno.test("config: --max-running from a flag, the environment or the file; 0 = no limit", async () => {
  assert.equal((await loadServerConfig(["--max-running", "3"], {})).options.maxRunning, 3);
  const env = await loadServerConfig([], { SWITCHBOARD_MAX_RUNNING: "0" });
  assert.equal(env.options.maxRunning, 0);
  await withConfigFile({ maxRunning: 7 }, async (path) => {
    assert.equal((await loadServerConfig(["--config", path], {})).options.maxRunning, 7);
  });
  await refused(["--max-running=-1"], {}, /^--max-running: expected a whole number from 0/);
  await refused(["--max-running=1.5"], {}, /^--max-running: expected a whole number/);
  assert.match(SERVER_USAGE, /--max-running N\s+running :run programs, all clients together/);
  assert.match(SERVER_USAGE, /--max-running\s+defaults to 2 per CPU core/);
  assert.equal(DEFAULT_OPTIONS.maxRunning, 2 * navigator.hardwareConcurrency);
});

Deno.test("config: commands for :run come from the file only, each one validated", async () => {
  const commands = {
    uptime: { argv: ["/usr/bin/uptime"] },
    backup: { argv: ["/usr/local/bin/backup", "--now"], timeout: 600, admin: true, maxArgs: 0 },
    find: { argv: ["/usr/bin/find", "/srv"], args: "after-dashes" },
    tar: { argv: ["/usr/bin/tar", "-tf"], args: { pattern: "[a-z0-9._-]+\\.tar" } },
  };
  await withConfigFile({ commands, filesDir: "shared", fileQuota: "1G" }, async (path) => {
    const { options } = await loadServerConfig(["--config", path], {});
    assert.deepEqual(options.commands, commands);
    assert.equal(options.filesDir, join(path, "..", "shared"));
    assert.equal(options.fileQuota, 1024 ** 3);
  });
  await refused(
    [],
    { SWITCHBOARD_COMMANDS: '{"x": {"argv": ["sh"]}}' },
    /^SWITCHBOARD_COMMANDS: commands are read from the config file only$/,
  );
  await refused(["--commands", "x"], {}, /^unknown option --commands$/);
  const bad: [unknown, RegExp][] = [
    [["ls"], /key "commands": expected an object/],
    [{ "bad name": { argv: ["ls"] } }, /command "bad name": names are 1-32/],
    [{ ls: ["ls"] }, /command "ls": expected an object/],
    [{ ls: {} }, /command "ls": "argv" must be a non-empty list of strings/],
    [{ ls: { argv: [] } }, /"argv" must be a non-empty list/],
    [{ ls: { argv: [""] } }, /"argv" must be a non-empty list/],
    [{ ls: { argv: ["ls", 3] } }, /"argv" must be a non-empty list of strings/],
    [{ ls: { argv: "ls -l" } }, /"argv" must be a non-empty list/],
    [{ ls: { argv: ["ls"], timeout: 0 } }, /command "ls": "timeout" must be a number of seconds/],
    [{ ls: { argv: ["ls"], timeout: "5" } }, /"timeout" must be a number/],
    [{ ls: { argv: ["ls"], admin: "yes" } }, /command "ls": "admin" must be true or false/],
    [{ ls: { argv: ["ls"], maxArgs: -1 } }, /"maxArgs" must be a whole number from 0 to 256/],
    [{ ls: { argv: ["ls"], shell: true } }, /command "ls": unknown key "shell"/],
    [{ ls: { argv: ["ls"], args: "plain" } }, /command "ls": "args" must be "after-dashes" or/],
    [{ ls: { argv: ["ls"], args: { pattern: 3 } } }, /"args" must be "after-dashes" or/],
    [{ ls: { argv: ["ls"], args: { pattern: "x", flags: "i" } } }, /"args" must be/],
    [{ ls: { argv: ["ls"], args: { pattern: "" } } }, /"args.pattern" must not be empty/],
    [
      { ls: { argv: ["ls"], args: { pattern: "[a-z" } } },
      /command "ls": "args.pattern" is not a valid regular expression/,
    ],
    // Unbalanced on its own, even though `^(?:a)|(b)$` would compile: the anchors must hold.
    [{ ls: { argv: ["ls"], args: { pattern: "a)|(b" } } }, /"args.pattern" is not a valid/],
  ];
  for (const [value, message] of bad) {
    await withConfigFile({ commands: value }, (path) => refused(["--config", path], {}, message));
  }
});

Deno.test("config: reserved names come from a flag, the environment or the file; empty frees them", async () => {
  const flag = await loadServerConfig(
    ["--reserved-names", "staff, mod", "--reserved-names=ops"],
    {},
  );
  assert.deepEqual(flag.options.reservedNames, ["staff", "mod", "ops"]);
  const env = await loadServerConfig([], { SWITCHBOARD_RESERVED_NAMES: "staff,mod" });
  assert.deepEqual(env.options.reservedNames, ["staff", "mod"]);
  assert.deepEqual(
    (await loadServerConfig(["--reserved-names", ""], {})).options.reservedNames,
    [],
  );
  const comma = await loadServerConfig([], { SWITCHBOARD_RESERVED_NAMES: "," });
  assert.deepEqual(comma.options.reservedNames, []);
  await withConfigFile({ reservedNames: [] }, async (path) => {
    const config = await loadServerConfig(["--config", path], {});
    assert.deepEqual(config.options.reservedNames, []);
  });
  assert.deepEqual(DEFAULT_OPTIONS.reservedNames, [
    "admin",
    "root",
    "operator",
    "server",
    "system",
  ]);
  await refused(["--reserved-names", "ok,not ok"], {}, /--reserved-names: invalid name "not ok"/);
  await withConfigFile({ reservedNames: "admin" }, async (path) => {
    await refused(["--config", path], {}, /key "reservedNames": expected a list of names/);
  });
});
