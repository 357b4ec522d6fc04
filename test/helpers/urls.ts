/** Test databases live on the server named by TEST_DATABASE_URL / DATABASE_URL (default local trust auth). */
export function testServerUrl(database: string): string {
  const base = new URL(
    process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
  );
  base.pathname = `/${database}`;
  return base.toString();
}

export const TEST_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
