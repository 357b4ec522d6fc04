/** The only place a PrismaClient is constructed (Prisma 7 requires a driver adapter; we use adapter-pg). */
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client';
import { PG_CONNECTION_OPTIONS } from './pg';

export type { PrismaClient };

export function createPrisma(databaseUrl: string, poolSize = 10): PrismaClient {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: poolSize, ...PG_CONNECTION_OPTIONS });
  return new PrismaClient({ adapter });
}
