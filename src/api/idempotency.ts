/**
 * `Idempotency-Key` for POSTs that create something. An integrator whose `POST /api/campaigns` timed out cannot tell
 * whether it was created, and retrying made a second campaign: two drafts at best, two *scheduled* campaigns (each
 * sending to the whole list at `at` or on `cron`) at worst. With the header, the first request's answer is kept (in
 * PostgreSQL, table `idempotency_keys`, for a day) and a retry with the same key and body gets that answer again,
 * flagged `idempotent-replayed: true`, without acting again. The same key with another body is a 409, as is a retry
 * while the first is still being processed. Without the header nothing changes.
 *
 * The record lives in PostgreSQL, not Redis, and completes in the same transaction as the service's write (its
 * `beforeCommit` hook): a campaign exists only with its completed record, and a pending record only without one. So
 * - Redis being down changes nothing here (it answered 500 to every request with a key);
 * - a pending record left by a server that died mid-request means nothing was done: after PENDING_LEASE_S a retry
 *   takes the key over and acts, exactly once. (In Redis the key expired after 120 s even when the campaign had been
 *   created and only the answer was not yet stored, so that retry created a second one.)
 * - a request that outlives its lease and was taken over cannot complete: its `beforeCommit` finds the key is no
 *   longer its own and rolls its write back (409), so the two never both act.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Pool } from 'pg';
import { executeOn, type BeforeCommit, type TxExecute } from '../db/transaction';
import type { Logger } from '../logger';
import { ConflictError } from '../errors';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** How long an answer is replayed (and a key cannot be reused with another body). */
const KEEP_S = 24 * 3600;
/**
 * How long a request in progress holds its key before a retry may take it over. Safety does not depend on it (a
 * request taken over cannot commit); it is how long a retry after a crash is told "still being processed", and must
 * be longer than a create or a retry of a large campaign takes, or the slow original is answered 409.
 */
export const PENDING_LEASE_S = 60;
/** Expired records removed per claim: each claim adds at most one, so the expired ones never pile up. */
const PURGE_BATCH = 100;

/** The header's schema, for the route's `headers` (documented, and validated: 400 naming it). */
export const idempotencyHeaderSchema = {
  type: 'object',
  properties: {
    [IDEMPOTENCY_HEADER]: {
      type: 'string',
      minLength: 1,
      maxLength: 200,
      description:
        'a unique value per intended operation (e.g. a UUID); a retry with the same value and body replays the first answer (header ' +
        '`idempotent-replayed: true`) instead of acting again, for 24 h; the same value with another body, or while the first request ' +
        `is still in progress, is a 409 (a request that died mid-way frees its value after ${PENDING_LEASE_S} s)`,
    },
  },
} as const;

export interface IdempotencyDeps {
  pg: Pool;
  logger: Logger;
}

/** One key of one caller on one route, and the request that holds or held it. */
interface KeyRef {
  caller: string;
  scope: string;
  key: string;
}

interface StoredRow {
  fingerprint: string;
  state: 'pending' | 'complete';
  response_status: number | null;
  response_body: unknown;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * Takes the key for a new request (`claim`): inserted when absent, taken over when expired or left pending past the
 * lease by a request that died. Resolves false when someone else's record stands.
 */
async function claimKey(pg: Pool, ref: KeyRef, fingerprint: string, claim: string): Promise<boolean> {
  const { rowCount } = await pg.query(
    `INSERT INTO idempotency_keys (caller, scope, key, fingerprint, state, claim, created_at, expires_at)
     VALUES ($1, $2, $3, $4, 'pending', $5, now(), now() + make_interval(secs => $6))
     ON CONFLICT (caller, scope, key) DO UPDATE
        SET fingerprint = EXCLUDED.fingerprint, state = 'pending', claim = EXCLUDED.claim, response_status = NULL,
            response_body = NULL, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
      WHERE idempotency_keys.expires_at <= now()
         OR (idempotency_keys.state = 'pending' AND idempotency_keys.created_at <= now() - make_interval(secs => $7))`,
    [ref.caller, ref.scope, ref.key, fingerprint, claim, KEEP_S, PENDING_LEASE_S],
  );
  return rowCount === 1;
}

async function readKey(pg: Pool, ref: KeyRef): Promise<StoredRow | undefined> {
  const { rows } = await pg.query<StoredRow>(
    `SELECT fingerprint, state::text AS state, response_status, response_body
       FROM idempotency_keys WHERE caller = $1 AND scope = $2 AND key = $3 AND expires_at > now()`,
    [ref.caller, ref.scope, ref.key],
  );
  return rows[0];
}

/** Stores the answer, if the key is still this request's; resolves false when it was taken over. */
async function completeKey(execute: TxExecute, ref: KeyRef, claim: string, status: number, body: unknown): Promise<boolean> {
  const changed = await execute(
    `UPDATE idempotency_keys SET state = 'complete', response_status = $5, response_body = $6::json
      WHERE caller = $1 AND scope = $2 AND key = $3 AND claim = $4::uuid AND state = 'pending'`,
    [ref.caller, ref.scope, ref.key, claim, status, JSON.stringify(body)],
  );
  return changed === 1;
}

async function purgeExpired(pg: Pool): Promise<void> {
  await pg.query(
    `DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(SELECT ctid FROM idempotency_keys WHERE expires_at <= now() LIMIT $1))`,
    [PURGE_BATCH],
  );
}

/**
 * Runs `act` once per (caller, route scope, key) and answers `status` with its result; `replayed` is true when the
 * answer is the stored one of an earlier request. `act` must pass `beforeCommit` to the service, which runs it in the
 * transaction of its write. A failed `act` frees the key (nothing was done), so the corrected retry runs it again.
 */
export async function idempotent<T>(
  deps: IdempotencyDeps,
  req: FastifyRequest,
  opts: { scope: string; status: number },
  act: (beforeCommit: BeforeCommit<T>) => Promise<T>,
): Promise<{ status: number; body: T; replayed: boolean }> {
  const { status } = opts;
  const header = req.headers[IDEMPOTENCY_HEADER];
  const key = Array.isArray(header) ? header[0] : header;
  if (key === undefined) return { status, body: await act(async () => undefined), replayed: false };
  // One caller's keys are not another's: the same key from two tokens is two operations.
  const ref: KeyRef = { caller: req.access?.tokenId ?? req.principal?.kind ?? 'anonymous', scope: opts.scope, key };
  const fingerprint = sha256(JSON.stringify(req.body ?? null));
  const claim = randomUUID();

  await purgeExpired(deps.pg).catch((err: unknown) => deps.logger.warn({ err }, 'purging expired idempotency keys failed'));
  // A record seen by the claim can be gone by the read (its request failed and freed it): claim again, briefly.
  for (let attempt = 0; !(await claimKey(deps.pg, ref, fingerprint, claim)); attempt++) {
    const seen = await readKey(deps.pg, ref);
    if (!seen) {
      if (attempt < 2) continue;
      throw new ConflictError('a request with this Idempotency-Key is still being processed; retry in a few seconds');
    }
    if (seen.fingerprint !== fingerprint) {
      throw new ConflictError('the Idempotency-Key was already used with a different request body; use a new key for a new request');
    }
    if (seen.state === 'pending') throw new ConflictError('a request with this Idempotency-Key is still being processed; retry in a few seconds');
    return { status: seen.response_status!, body: seen.response_body as T, replayed: true };
  }

  let completedInTransaction = false;
  let body: T;
  try {
    body = await act(async (execute, result) => {
      if (!(await completeKey(execute, ref, claim, status, result))) {
        throw new ConflictError(
          `this request outlived its Idempotency-Key's ${PENDING_LEASE_S} s lease and a retry took the key over: nothing was done by this one`,
        );
      }
      completedInTransaction = true;
    });
  } catch (err) {
    // Frees the key unless the write committed (its record is complete then, and a retry replays it).
    await deps.pg
      .query(`DELETE FROM idempotency_keys WHERE caller = $1 AND scope = $2 AND key = $3 AND claim = $4::uuid AND state = 'pending'`, [
        ref.caller, ref.scope, ref.key, claim,
      ])
      .catch((delErr: unknown) => deps.logger.warn({ err: delErr }, 'freeing an Idempotency-Key failed; it is taken over after its lease'));
    throw err;
  }
  if (!completedInTransaction) {
    // A service that does not run `beforeCommit` (nothing to commit, or a stand-in): stored after the fact, so a crash
    // between its write and this one leaves the key pending, and a retry after the lease acts again.
    const stored = await completeKey(executeOn(deps.pg), ref, claim, status, body);
    if (!stored) deps.logger.warn({ scope: ref.scope }, 'an Idempotency-Key was taken over before its answer was stored');
  }
  return { status, body, replayed: false };
}
