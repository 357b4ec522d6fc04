-- A sent message's three status updates (queued, sending, sent) change an indexed column, so each inserts into
-- every index of messages. (campaign_id, status) duplicated what (run_id, status, id) gives through the
-- campaign's runs (src/sending/ledger.ts inCampaignRuns: recovery sweeps, pause, cancel, retry, failures).
-- Measured: ~15 µs less PostgreSQL CPU per sent message.
DROP INDEX "messages_campaign_id_status_idx";
