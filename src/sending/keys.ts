/** Redis key names of the sending engine. Everything lives under QUEUE_PREFIX so deployments can share one Redis. */
export const SEND_QUEUE = 'send';

export interface SendingKeys {
  /** GCRA theoretical-arrival-time of the account-wide request budget. */
  pacer: string;
  /** Random value written once; its disappearance means Redis lost its data (FLUSHALL, failover without persistence). */
  epoch: string;
  /** Pub/sub channel announcing campaign state changes (pause/resume/cancel) to every worker. */
  control: string;
}

export function sendingKeys(prefix: string): SendingKeys {
  return { pacer: `${prefix}:pacer`, epoch: `${prefix}:epoch`, control: `${prefix}:campaign-control` };
}

/** Job data: message ids only — never the text, never the API key. */
export interface SendJobData {
  campaignId: string;
  runId: string;
  /** Message ids as decimal strings (bigint). */
  ids: string[];
}

/** BullMQ job ids must not contain ':' nor be all digits. */
export function batchJobId(runId: string, firstId: string, count: number, generation: string): string {
  return `b-${runId}-${firstId}-${count}-${generation}`;
}
