import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CONFIG_KEYS, loadConfig } from '../../../src/config';

const compose = readFileSync(path.join(__dirname, '../../../docker-compose.yml'), 'utf8');

/** The keys of the `x-app-env` block every app service uses. */
function appEnvKeys(): string[] {
  const block = /^x-app-env: &app-env\n((?: {2}.*\n|\s*#.*\n)+)/m.exec(compose)?.[1] ?? '';
  return [...block.matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]!);
}

describe('docker-compose.yml', () => {
  it('passes only variables the configuration reads', () => {
    const keys = appEnvKeys();
    expect(keys.length).toBeGreaterThan(5);
    expect(keys.filter((k) => !CONFIG_KEYS.includes(k))).toEqual([]);
  });

  it('passes every setting the configuration reads, so a value in .env reaches the containers', () => {
    // Set by the image (NODE_ENV) or the worker's command (metrics), or a test hook.
    const notPassed = ['NODE_ENV', 'METRICS_PORT', 'METRICS_HOST', 'ARCHIVE_TEST_PAUSE', 'LIST_DELETE_TEST_PAUSE'];
    expect(CONFIG_KEYS.filter((k) => !notPassed.includes(k) && !appEnvKeys().includes(k))).toEqual([]);
  });

  it('the README names each setting compose does not take from the shell or .env', () => {
    // It said every setting of the Configuration table reaches the containers, but DATABASE_URL, REDIS_URL and
    // QUEUE_PREFIX are written into x-app-env: a production DATABASE_URL in .env was silently ignored.
    const readme = readFileSync(path.join(__dirname, '../../../README.md'), 'utf8');
    const paragraph = /^- `docker compose up -d` runs[\s\S]*?\(`\.dockerignore`\)\./m.exec(readme)?.[0] ?? '';
    expect(paragraph).not.toBe('');
    const fixed = [...compose.matchAll(/^ {2}([A-Z][A-Z0-9_]*): (.*)$/gm)]
      .filter(([, key, value]) => appEnvKeys().includes(key!) && !value!.startsWith(`\${${key}:-`))
      .map(([, key]) => key!);
    expect(fixed).toEqual(expect.arrayContaining(['DATABASE_URL', 'REPORTS_DIR']));
    const inCommand = ['METRICS_PORT', 'METRICS_HOST'];
    expect([...fixed, ...inCommand].filter((key) => !paragraph.includes(`\`${key}\``))).toEqual([]);
  });

  it('ships no API token: one written in the file would be known to everyone who read it', () => {
    expect(compose).toMatch(/^ {2}API_TOKEN: \$\{API_TOKEN:-\}$/m);
  });

  it('its defaults form a valid configuration (empty values are unset)', () => {
    const env = Object.fromEntries(
      [...compose.matchAll(/^ {2}([A-Z][A-Z0-9_]*): (.*)$/gm)]
        .filter(([, k]) => appEnvKeys().includes(k!))
        .map(([, k, v]) => [k!, v!.replace(/^\$\{[A-Z0-9_]+:-(.*)\}$/, '$1')]),
    );
    expect(() => loadConfig(env)).not.toThrow();
    expect(loadConfig(env).API_TOKEN).toBeUndefined();
  });
});

/** One service's block of docker-compose.yml (its indented lines up to the next service). */
function serviceBlock(name: string): string {
  return new RegExp(`^ {2}${name}:\\n((?: {4}.*\\n|\\s*\\n)+)`, 'm').exec(compose)?.[1] ?? '';
}

describe('container health and user', () => {
  it.each([
    ['api', /"--port", "(\d+)"/],
    ['worker', /"--metrics-port", "(\d+)"/],
  ])('%s has a healthcheck on the port its command listens on', (service, portInCommand) => {
    const block = serviceBlock(service);
    const port = portInCommand.exec(block)?.[1];
    expect(port).toBeDefined();
    expect(block).toMatch(new RegExp(`healthcheck:\\n\\s+test: \\[.*http://127\\.0\\.0\\.1:${port}/`));
  });

  it('the image runs its process as an unprivileged user', () => {
    const dockerfile = readFileSync(path.join(__dirname, '../../../Dockerfile'), 'utf8');
    const users = [...dockerfile.matchAll(/^USER (\S+)/gm)];
    expect(users.at(-1)?.[1]).toBe('node');
    expect(dockerfile.indexOf(users.at(-1)![0])).toBeLessThan(dockerfile.indexOf('ENTRYPOINT'));
  });
});

