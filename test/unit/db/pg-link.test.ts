import { PG_LINK_DEFAULTS, pgConnectionConfig, sessionLinkOptions } from '../../../src/db/pg';
import { loadConfig } from '../../../src/config';

describe('PostgreSQL link settings', () => {
  it('every connection asks the server to end a silent peer’s session, and probes the server itself', () => {
    const config = pgConnectionConfig('postgresql://u@db:5432/bulksms', PG_LINK_DEFAULTS);
    expect(config).toMatchObject({
      connectionString: 'postgresql://u@db:5432/bulksms',
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      options: '-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3 -c tcp_user_timeout=25000',
    });
  });

  it('a setting at 0 is left to the server; all at 0 send no options', () => {
    const link = { ...PG_LINK_DEFAULTS, PG_TCP_USER_TIMEOUT_MS: 0 };
    expect(sessionLinkOptions(link)).toBe('-c tcp_keepalives_idle=10 -c tcp_keepalives_interval=5 -c tcp_keepalives_count=3');
    const none = pgConnectionConfig('postgresql://u@db/x', { PG_KEEPALIVE_IDLE_SECONDS: 0, PG_KEEPALIVE_INTERVAL_SECONDS: 0, PG_KEEPALIVE_COUNT: 0, PG_TCP_USER_TIMEOUT_MS: 0 });
    expect(none.options).toBeUndefined();
  });

  it('options written in DATABASE_URL are kept, after ours so they win (node-postgres would let them replace ours)', () => {
    const config = pgConnectionConfig('postgresql://u:p%2Fw@db/x?sslmode=require&options=-c%20statement_timeout%3D5s', PG_LINK_DEFAULTS);
    expect(config.connectionString).toBe('postgresql://u:p%2Fw@db/x?sslmode=require');
    expect(config.options).toBe(`${sessionLinkOptions(PG_LINK_DEFAULTS)} -c statement_timeout=5s`);
  });

  it('the configuration reads them, defaults as documented', () => {
    const config = loadConfig({ PG_KEEPALIVE_IDLE_SECONDS: '2', PG_TCP_USER_TIMEOUT_MS: '0' });
    expect([config.PG_KEEPALIVE_IDLE_SECONDS, config.PG_KEEPALIVE_INTERVAL_SECONDS, config.PG_KEEPALIVE_COUNT, config.PG_TCP_USER_TIMEOUT_MS]).toEqual([2, 5, 3, 0]);
    expect(() => loadConfig({ PG_KEEPALIVE_COUNT: '200' })).toThrow(/PG_KEEPALIVE_COUNT/);
  });
});
