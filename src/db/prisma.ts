/** The only place a PrismaClient is constructed (Prisma 7 requires a driver adapter; we use adapter-pg). */
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client';
import { pgConnectionConfig, type PgLinkSettings } from './pg';

export type { PrismaClient };

export function createPrisma(databaseUrl: string, link: PgLinkSettings, poolSize = 10): PrismaClient {
  const adapter = new PrismaPg({ ...pgConnectionConfig(databaseUrl, link), max: poolSize });
  return new PrismaClient({ adapter });
}
