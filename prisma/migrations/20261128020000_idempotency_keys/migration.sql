-- The `Idempotency-Key` of a POST that creates something (src/api/idempotency.ts), in PostgreSQL rather than Redis:
-- the record commits in the same transaction as what the request created, so neither exists without the other,
-- and a request carrying a key no longer fails while Redis is down.
CREATE TYPE "IdempotencyState" AS ENUM ('pending', 'complete');

CREATE TABLE "idempotency_keys" (
    -- The API token's id (or the principal's kind): the same key from two callers is two operations.
    "caller" TEXT NOT NULL,
    -- The route it was sent to ('campaign', 'retry:<campaign id>').
    "scope" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    -- sha256 of the request body: the same key with another body is refused.
    "fingerprint" TEXT NOT NULL,
    "state" "IdempotencyState" NOT NULL DEFAULT 'pending',
    -- Which request holds a pending key: only that one may complete it.
    "claim" UUID NOT NULL,
    "response_status" INTEGER,
    -- JSON (not JSONB): a replay answers the first request's body as it was written.
    "response_body" JSON,
    -- When the current claim was taken: a pending key older than the lease belongs to a request that died.
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "idempotency_keys_pkey" PRIMARY KEY ("caller", "scope", "key")
);

-- The purge of expired keys.
CREATE INDEX "idempotency_keys_expires_at_idx" ON "idempotency_keys"("expires_at");
