-- CreateTable
CREATE TABLE "otp_grants" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "token_id" UUID NOT NULL,
    "phone" TEXT NOT NULL,
    "session_id" TEXT NOT NULL,
    "ip" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "requested_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "verified_at" TIMESTAMPTZ(3),
    "expires_at" TIMESTAMPTZ(3),

    CONSTRAINT "otp_grants_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "otp_grants_session_id_key" ON "otp_grants"("session_id");

-- CreateIndex
CREATE INDEX "otp_grants_token_id_expires_at_idx" ON "otp_grants"("token_id", "expires_at");

-- AddForeignKey
ALTER TABLE "otp_grants" ADD CONSTRAINT "otp_grants_token_id_fkey" FOREIGN KEY ("token_id") REFERENCES "api_tokens"("id") ON DELETE CASCADE ON UPDATE CASCADE;
