#!/usr/bin/env node
'use strict';
/**
 * Service check used by `npm run demo`, `npm test` and .ci/run: are PostgreSQL and Redis reachable?
 * If not: `docker compose up -d postgres redis` where Docker works, else start locally installed servers,
 * else exit 1 saying exactly what is missing and how to provide it.
 * With `--browser` (npm test): the dashboard's tests drive a real Chromium; when none is installed, Debian's is
 * installed where apt works as root, else it exits 1 saying so (rather than two browser tests failing obscurely).
 * Two tests capture or drop loopback packets and need root with Debian's nftables and tcpdump: installed the same
 * way when missing; elsewhere a note names them.
 * Plain JS on purpose: it must run before anything is compiled.
 */
const net = require('node:net');
const { execSync } = require('node:child_process');
const fs = require('node:fs');

function target(envName, fallback) {
  const url = new URL(process.env[envName] || fallback);
  return { host: url.hostname || '127.0.0.1', port: Number(url.port) || (url.protocol.startsWith('redis') ? 6379 : 5432) };
}

function reachable({ host, port }, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok) => { socket.destroy(); resolve(ok); };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function tryRun(cmd) {
  try {
    execSync(cmd, { stdio: 'ignore', timeout: 60_000 });
    return true;
  } catch {
    return false;
  }
}

function has(cmd) {
  return tryRun(`command -v ${cmd}`);
}

async function waitFor(t, seconds) {
  for (let i = 0; i < seconds * 4; i++) {
    if (await reachable(t, 250)) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

const LOCAL_STARTERS = {
  postgres: () => {
    if (!fs.existsSync('/etc/postgresql')) return false;
    const versions = fs.readdirSync('/etc/postgresql');
    return versions.some((v) => tryRun(`pg_ctlcluster --skip-systemctl-redirect ${v} main start`));
  },
  redis: () =>
    has('redis-server') &&
    tryRun('redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no'),
};

const HOW_TO = {
  postgres: 'install PostgreSQL (e.g. `apt-get install postgresql`) or run `docker compose up -d postgres`, or point DATABASE_URL at a running server',
  redis: 'install Redis (e.g. `apt-get install redis-server`) or run `docker compose up -d redis`, or point REDIS_URL at a running server',
};

async function ensure(name, t) {
  if (await reachable(t)) return true;
  const local = ['127.0.0.1', 'localhost', '::1'].includes(t.host);
  if (local && has('docker') && tryRun('docker info') && tryRun(`docker compose up -d ${name}`) && (await waitFor(t, 30))) {
    process.stderr.write(`started ${name} with docker compose\n`);
    return true;
  }
  if (local && LOCAL_STARTERS[name]() && (await waitFor(t, 30))) {
    process.stderr.write(`started the locally installed ${name} server\n`);
    return true;
  }
  process.stderr.write(`${name} is not reachable at ${t.host}:${t.port}; ${HOW_TO[name]}\n`);
  return false;
}

/** Same candidates, same order as test/helpers/browser.ts. */
const CHROMIUM_CANDIDATES = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

function ensureChromium() {
  if (CHROMIUM_CANDIDATES.some((p) => p && fs.existsSync(p))) return true;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (root && has('apt-get')) {
    process.stderr.write('Chromium is missing (the dashboard tests drive a real browser): installing Debian\'s chromium…\n');
    try {
      execSync('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium', { stdio: 'ignore', timeout: 600_000 });
    } catch { /* judged below */ }
    if (CHROMIUM_CANDIDATES.some((p) => p && fs.existsSync(p))) return true;
  }
  process.stderr.write(
    'Chromium is not installed (the dashboard tests drive a real browser): install it (`apt-get install chromium`) ' +
      'or set CHROMIUM_PATH to a Chromium/Chrome executable\n',
  );
  return false;
}

/** Commands of the root-only network tests (test/helpers/silence-link.ts, scripts/lib/wire-capture.ts) → their packages. */
const NETWORK_TEST_TOOLS = { nft: 'nftables', tcpdump: 'tcpdump' };

function ensureNetworkTestTools() {
  const missing = Object.keys(NETWORK_TEST_TOOLS).filter((cmd) => !has(cmd));
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (missing.length && root && has('apt-get')) {
    const packages = missing.map((cmd) => NETWORK_TEST_TOOLS[cmd]).join(' ');
    process.stderr.write(`installing Debian's ${packages} (the lost-host and wire-capture tests use them)…\n`);
    try {
      execSync(`apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${packages}`, { stdio: 'ignore', timeout: 600_000 });
    } catch { /* judged below */ }
  }
  const still = Object.keys(NETWORK_TEST_TOOLS).filter((cmd) => !has(cmd));
  if (still.length || !root) {
    process.stderr.write(
      `note: the lost-host and wire-capture tests need root${still.length ? ` and ${still.map((c) => NETWORK_TEST_TOOLS[c]).join(', ')}` : ''}; they will fail here\n`,
    );
  }
  return true;
}

async function main() {
  try { require('dotenv').config({ quiet: true }); } catch { /* dotenv not installed yet */ }
  const pg = target('DATABASE_URL', 'postgresql://postgres@127.0.0.1:5432/bulksms');
  const redis = target('REDIS_URL', 'redis://127.0.0.1:6379');
  const results = [await ensure('postgres', pg), await ensure('redis', redis)];
  if (process.argv.includes('--browser')) results.push(ensureChromium(), ensureNetworkTestTools());
  process.exit(results.every(Boolean) ? 0 : 1);
}

main();
