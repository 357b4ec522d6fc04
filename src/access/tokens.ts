/**
 * API tokens with roles. A token is 32 random bytes (base64url) behind a recognisable `bsms_` prefix, so
 * secret scanners and humans can tell it apart; only its SHA-256 is stored, and a bearer is checked by
 * looking its hash up (a unique index), so the comparison never touches the secret itself.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config';
import type { PrismaClient } from '../db/prisma';
import { NotFoundError, ValidationError } from '../errors';
import { normalisePhone as normaliseMobile } from '../import/phone';
import { isRole, maskPhone, type Role } from './policy';

export const TOKEN_PREFIX = 'bsms_';

export interface TokenDeps {
  prisma: PrismaClient;
  config: Pick<Config, 'API_TOKEN'>;
}

/** Who is calling: `tokenId` is null for the legacy single `API_TOKEN` from the configuration. */
export interface Principal {
  tokenId: string | null;
  role: Role;
  /** Registered phone (E.164) for the SMS second factor; null if none. */
  phone: string | null;
  name: string | null;
}

export interface CreateTokenInput {
  role: string;
  name?: string;
  phone?: string;
}

export interface CreateTokenResult {
  tokenId: string;
  /** The secret, shown once. */
  token: string;
  role: Role;
  name: string | null;
  phone: string | null;
}

export function generateToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export async function createToken(deps: Pick<TokenDeps, 'prisma'>, input: CreateTokenInput): Promise<CreateTokenResult> {
  if (!isRole(input.role)) throw new ValidationError(`--role: must be owner, operator or viewer (got "${input.role}")`, 'role');
  const phone = input.phone === undefined ? null : normalisePhone(input.phone);
  const token = generateToken();
  const row = await deps.prisma.apiToken.create({
    data: { role: input.role, name: input.name ?? null, phone, tokenHash: hashToken(token) },
    select: { id: true },
  });
  return { tokenId: row.id, token, role: input.role, name: input.name ?? null, phone };
}

/**
 * The owner's number read as imports and suppressions read one (Indian by default: 98765 43210, 098765-43210,
 * 0091…, +91…): a mobile number in E.164, since the OTP goes to it by SMS.
 */
export function normalisePhone(raw: string): string {
  const read = normaliseMobile(raw, 'IN');
  if (!read.ok) throw new ValidationError(`--phone: "${raw}" is not a mobile number (${read.reason}); give it as +91XXXXXXXXXX`, 'phone');
  return read.e164;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function revokeToken(deps: Pick<TokenDeps, 'prisma'>, tokenId: string): Promise<{ tokenId: string; revokedAt: Date }> {
  if (!UUID.test(tokenId)) throw new ValidationError(`token id "${tokenId}" is not a UUID`, 'id');
  const existing = await deps.prisma.apiToken.findUnique({ where: { id: tokenId }, select: { revokedAt: true } });
  if (!existing) throw new NotFoundError(`token ${tokenId} not found`);
  if (existing.revokedAt) return { tokenId, revokedAt: existing.revokedAt };
  const row = await deps.prisma.apiToken.update({ where: { id: tokenId }, data: { revokedAt: new Date() }, select: { revokedAt: true } });
  return { tokenId, revokedAt: row.revokedAt! };
}

/** `Authorization` header value or bare token → principal, or null if unknown/revoked/malformed. */
export async function authenticate(deps: TokenDeps, bearer: string | undefined | null): Promise<Principal | null> {
  const token = extractBearer(bearer);
  if (!token) return null;
  const legacy = deps.config.API_TOKEN;
  if (legacy && constantTimeEqual(token, legacy)) return { tokenId: null, role: 'owner', phone: null, name: 'API_TOKEN' };
  if (!token.startsWith(TOKEN_PREFIX)) return null;
  const row = await deps.prisma.apiToken.findUnique({
    where: { tokenHash: hashToken(token) },
    select: { id: true, role: true, phone: true, name: true, revokedAt: true, lastUsedAt: true },
  });
  if (!row || row.revokedAt) return null;
  // Coarse last-used stamp (once a minute) so a busy dashboard does not write on every request.
  if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > 60_000) {
    await deps.prisma.apiToken.update({ where: { id: row.id }, data: { lastUsedAt: new Date() } }).catch(() => undefined);
  }
  return { tokenId: row.id, role: row.role, phone: row.phone, name: row.name };
}

/**
 * The id of a revoked `bsms_` token, for the audit entry of its refusal (a leaked token still in use after its
 * revocation is worth naming); null for anything else. The secret itself is only hashed, as for a valid one.
 */
export async function revokedTokenId(deps: Pick<TokenDeps, 'prisma'>, token: string): Promise<string | null> {
  if (!token.startsWith(TOKEN_PREFIX)) return null;
  const row = await deps.prisma.apiToken.findUnique({ where: { tokenHash: hashToken(token) }, select: { id: true, revokedAt: true } });
  return row?.revokedAt ? row.id : null;
}

export function extractBearer(header: string | undefined | null): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  const token = m ? m[1]! : header.includes(' ') ? null : header;
  return token && token.length >= 16 && token.length <= 512 ? token : null;
}

function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** A DB token's identity in the shape of src/api/auth.ts's Principal (`kind`, `role`, `tokenId`). */
export interface DbTokenIdentity {
  kind: 'db-token';
  role: Role;
  tokenId: string;
}

/**
 * Plugs role tokens into the API's `TokenVerifier` list: `(token) => identity | null`. It only knows
 * `bsms_` tokens; the legacy API_TOKEN stays with the API's static verifier.
 */
export function dbTokenVerifier(deps: Pick<TokenDeps, 'prisma'>): (token: string) => Promise<DbTokenIdentity | null> {
  return async (token) => {
    if (!token.startsWith(TOKEN_PREFIX)) return null;
    const principal = await authenticate({ prisma: deps.prisma, config: { API_TOKEN: undefined } }, token);
    return principal?.tokenId ? { kind: 'db-token', role: principal.role, tokenId: principal.tokenId } : null;
  };
}

export interface TokenSummary {
  tokenId: string;
  name: string | null;
  role: Role;
  /** Masked: the list is for finding a token to revoke, not for reading phone numbers. */
  phone: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export async function listTokens(deps: Pick<TokenDeps, 'prisma'>, opts: { includeRevoked?: boolean } = {}): Promise<TokenSummary[]> {
  const rows = await deps.prisma.apiToken.findMany({
    where: opts.includeRevoked ? {} : { revokedAt: null },
    orderBy: { createdAt: 'asc' },
    select: { id: true, name: true, role: true, phone: true, createdAt: true, lastUsedAt: true, revokedAt: true },
  });
  return rows.map((r) => ({
    tokenId: r.id,
    name: r.name,
    role: r.role,
    phone: r.phone ? maskPhone(r.phone) : null,
    createdAt: r.createdAt,
    lastUsedAt: r.lastUsedAt,
    revokedAt: r.revokedAt,
  }));
}
