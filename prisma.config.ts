import { defineConfig } from 'prisma/config';

// `prisma generate` needs no database; the URL is only read by prisma CLI commands that we do not run
// offline (migrations are applied by src/db/migrate.ts). Empty fallback keeps generate working without env.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? '' },
});
