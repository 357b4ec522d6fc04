/**
 * Balance check before a run starts: the credits the run needs against the provider's balance for the product.
 * Called before a run is materialised: the scheduler's prepareRun (checkCredits) and every manual start
 * (src/sending/manual-start.ts, measureCredits).
 *
 * A `ready` list never changes (imports cannot add to it), and suppressions only lower the need, so the figure
 * computed at create time is a safe upper bound and is used as is: O(1) even for a 1M list, which keeps a
 * scheduled run on time. It is recomputed over the list only when missing or older than the list. For a provider
 * template it is a lower bound (the template's text is 2Factor's; only the variable values are counted), and every
 * message naming it says "at least".
 */
import type { Container } from '../container';
import { NotFoundError, ServiceError, ValidationError, coerceError } from '../errors';
import type { BalanceKind, SmsProvider } from '../provider/sms-provider';
import { estimateCampaign, type CampaignContent } from './estimate';
import { RateLimiterUnavailableError } from '../delivery/paced-slot';

export interface CreditCheck {
  campaignId: string;
  kind: BalanceKind;
  needed: number;
  /**
   * False for a provider-template campaign: 2Factor holds the template's text, so only its variable values are
   * counted and `needed` is a lower bound (estimate.ts).
   */
  neededExact: boolean;
  balance: number;
  sufficient: boolean;
  /** True when the balance is short but --force let the run start anyway. */
  forced: boolean;
}

/** The provider's balance could not be read (unreachable, key refused, unreadable answer): never guessed. */
export class BalanceUnavailableError extends ServiceError {
  constructor(readonly kind: BalanceKind, cause: unknown) {
    super(`could not read the ${kind} balance from the provider (${coerceError(cause).message})`, { cause });
  }
}

export function balanceKindFor(type: 'transactional' | 'promotional'): BalanceKind {
  return type === 'transactional' ? 'TRANSACTIONAL_SMS' : 'PROMOTIONAL_SMS';
}

/**
 * The credits a run of the campaign needs and the provider's balance for its product, without judging them.
 * A failed balance lookup throws BalanceUnavailableError.
 */
export async function measureCredits(
  deps: Pick<Container, 'prisma' | 'pg'>,
  provider: Pick<SmsProvider, 'balance'>,
  campaignId: string,
): Promise<Omit<CreditCheck, 'forced'>> {
  const campaign = await deps.prisma.campaign.findUnique({
    where: { id: campaignId },
    select: {
      id: true, listId: true, type: true, text: true, templateName: true, templateVars: true, credits: true, createdAt: true,
      list: { select: { completedAt: true } },
    },
  });
  if (!campaign) throw new NotFoundError(`campaign ${campaignId} not found`);
  const kind = balanceKindFor(campaign.type);
  const listChanged = campaign.list.completedAt !== null && campaign.list.completedAt > campaign.createdAt;
  const stored = campaign.credits !== null && !listChanged ? campaign.credits : null;
  const content: CampaignContent =
    campaign.text !== null
      ? { kind: 'text', text: campaign.text }
      : { kind: 'template', name: campaign.templateName ?? '', vars: campaign.templateVars };
  const [needed, balance] = await Promise.all([
    stored !== null ? Promise.resolve(stored) : estimateCampaign(deps.pg, campaign.listId, content).then((e) => e.credits),
    provider.balance(kind).catch((err: unknown) => {
      // Redis, not the provider: said as it is.
      if (err instanceof RateLimiterUnavailableError) throw err;
      throw new BalanceUnavailableError(kind, err);
    }),
  ]);
  return { campaignId, kind, needed, neededExact: content.kind === 'text', balance, sufficient: balance >= needed };
}

/** "at least " before a credit figure that is a lower bound (a template campaign's), so a refusal never reads as exact. */
export function atLeast(check: Pick<CreditCheck, 'neededExact'>): string {
  return check.neededExact ? '' : 'at least ';
}

/** The scheduler's pre-start check: throws when the balance is short (unless forced), which alerts the campaign. */
export async function checkCredits(
  deps: Pick<Container, 'prisma' | 'pg' | 'logger'>,
  provider: Pick<SmsProvider, 'balance'>,
  campaignId: string,
  opts: { force?: boolean } = {},
): Promise<CreditCheck> {
  const measured = await measureCredits(deps, provider, campaignId);
  const { kind, needed, balance, sufficient } = measured;
  const result: CreditCheck = { ...measured, forced: !sufficient && Boolean(opts.force) };
  if (!sufficient && !opts.force) {
    const min = atLeast(measured);
    // The way to force it named as the caller writes it: `--force` on the CLI, the body's `force` over HTTP.
    throw new ValidationError(
      (n) =>
        `not enough ${kind} credits for campaign ${campaignId}: needs ${min}${needed}, balance ${balance} ` +
        `(short by ${min}${needed - balance}); top up, or start with ${n('force')} to send until the balance runs out`,
      'credits',
    );
  }
  if (result.forced) deps.logger.warn({ campaignId, kind, needed, balance }, 'starting with too few credits (--force)');
  return result;
}
