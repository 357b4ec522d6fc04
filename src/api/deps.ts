/**
 * What the HTTP API needs: the composition root plus the domain services, injected as functions with the
 * signatures agreed in briefs/interfaces.md. Injecting them (rather than importing) lets the API be built
 * and tested before, and independently of, the teams that own those services.
 */
import type { Readable } from 'node:stream';
import type { Container } from '../container';
import type { SmsProvider } from '../provider/sms-provider';
import type { ImportOptions, ImportResult } from '../import/import-contacts';
import type { CreateCampaignInput, CreateCampaignResult } from '../campaign/campaign-service';
import type { RetryResult, RunStatusView } from '../sending/campaign-control';
import type { BeforeCommit } from '../db/transaction';

export const MESSAGE_STATUSES = [
  'pending', 'queued', 'sending', 'sent', 'delivered', 'failed', 'unknown', 'suppressed', 'cancelled',
] as const;
export type MessageStatusName = (typeof MESSAGE_STATUSES)[number];
export type StatusCounts = Record<MessageStatusName, number>;

// The owners' types: one definition each (src/import, src/campaign).
export type { ImportOptions, ImportResult } from '../import/import-contacts';
export type { CreateCampaignInput, CreateCampaignResult } from '../campaign/campaign-service';

export interface CampaignStatusResult {
  campaignId: string;
  status: string;
  pauseReason: string | null;
  /** campaigns.alert (DLT-CNT-REJECT, a scheduled run that did not start); the stub services may omit it. */
  alert?: string | null;
  total: number;
  /** Counts of the latest run (a cron campaign has one run per firing; see `runs`). */
  counts: StatusCounts;
  /** Every run, oldest first, each with its own counts; the stub services may omit them. */
  runs?: RunStatus[];
}

/** One run as the sending domain reports it (src/sending/campaign-control.ts); the API does not need its id. */
export type RunStatus = Omit<RunStatusView, 'runId'>;

export interface CampaignActionResult {
  campaignId: string;
  status: string;
}

/** The domain services the API calls; each takes the container as `deps` (interfaces.md). */
export interface ApiServices {
  importContacts(deps: Container, source: Readable, opts: ImportOptions): Promise<ImportResult>;
  /** `beforeCommit` runs in the transaction that inserts the campaign (the Idempotency-Key record, idempotency.ts). */
  createCampaign(deps: Container, input: CreateCampaignInput, opts?: { beforeCommit?: BeforeCommit<CreateCampaignResult> }): Promise<CreateCampaignResult>;
  startCampaign(
    deps: Container,
    campaignId: string,
    opts?: { trigger?: 'manual' | 'at' | 'cron'; force?: boolean },
  ): Promise<CampaignActionResult & { runId?: string }>;
  pauseCampaign(deps: Container, campaignId: string, reason: string): Promise<CampaignActionResult>;
  resumeCampaign(deps: Container, campaignId: string): Promise<CampaignActionResult>;
  cancelCampaign(deps: Container, campaignId: string): Promise<CampaignActionResult>;
  /** Every run's retryable failures, or those of run `runId` only; `beforeCommit` runs in its transaction. */
  retryCampaign(
    deps: Container,
    campaignId: string,
    opts: { includeUnknown: boolean; runId?: string; beforeCommit?: BeforeCommit<RetryResult> },
  ): Promise<RetryResult>;
  getCampaignStatus(deps: Container, campaignId: string): Promise<CampaignStatusResult>;
  /** Applies one delivery-report callback (form fields as posted by the provider). */
  applyDeliveryCallback(deps: Container, fields: Record<string, string>): Promise<unknown>;
}

export interface ApiOptions {
  /** Largest accepted CSV upload (bytes); larger uploads get 413 and import nothing. Default 50 MiB. */
  maxUploadBytes?: number;
  /** An upload with no byte for this long is ended (408, nothing imported). Default 30 s. */
  uploadIdleMs?: number;
  /**
   * Imports running at once (each holds a PostgreSQL connection while its file arrives); more get 429. Default 4,
   * so slow or hostile uploads cannot take the connections every other request needs.
   */
  maxConcurrentImports?: number;
  /** BullMQ queue names shown at /queues and counted in the queue-depth metric. */
  queueNames?: readonly string[];
  /** Serve the dashboard and bull-board (default true). */
  dashboard?: boolean;
  /** How long a provider reachability result is reused by /health (ms); default 15 s. */
  providerCheckCacheMs?: number;
}

export interface ApiDeps {
  container: Container;
  services: ApiServices;
  /** Used by /health for provider reachability; absent = reported as skipped. */
  provider?: SmsProvider;
  options?: ApiOptions;
}
