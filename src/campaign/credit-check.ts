/**
 * Balance check before a run starts: the credits the run needs (recomputed over the list as it is now, so a
 * cron run that meets a grown list is checked correctly) against the provider's balance for the product.
 * Called by startCampaign (src/sending) before it materialises the run.
 */
import type { Container } from '../container';
import { NotFoundError, ValidationError } from '../errors';
import type { BalanceKind, SmsProvider } from '../provider/sms-provider';
import { estimateCampaign, type CampaignContent } from './estimate';

export interface CreditCheck {
  campaignId: string;
  kind: BalanceKind;
  needed: number;
  balance: number;
  sufficient: boolean;
  /** True when the balance is short but --force let the run start anyway. */
  forced: boolean;
}

export function balanceKindFor(type: 'transactional' | 'promotional'): BalanceKind {
  return type === 'transactional' ? 'TRANSACTIONAL_SMS' : 'PROMOTIONAL_SMS';
}

export async function checkCredits(
  deps: Pick<Container, 'prisma' | 'pg' | 'logger'>,
  provider: Pick<SmsProvider, 'balance'>,
  campaignId: string,
  opts: { force?: boolean } = {},
): Promise<CreditCheck> {
  const campaign = await deps.prisma.campaign.findUnique({
    where: { id: campaignId },
    select: { id: true, listId: true, type: true, text: true, templateName: true, templateVars: true },
  });
  if (!campaign) throw new NotFoundError(`campaign ${campaignId} not found`);
  const content: CampaignContent =
    campaign.text !== null
      ? { kind: 'text', text: campaign.text }
      : { kind: 'template', name: campaign.templateName ?? '', vars: campaign.templateVars };
  const kind = balanceKindFor(campaign.type);
  const [estimate, balance] = await Promise.all([estimateCampaign(deps.pg, campaign.listId, content), provider.balance(kind)]);
  const needed = estimate.credits;
  const sufficient = balance >= needed;
  const result: CreditCheck = { campaignId, kind, needed, balance, sufficient, forced: !sufficient && Boolean(opts.force) };
  if (!sufficient && !opts.force) {
    throw new ValidationError(
      `not enough ${kind} credits for campaign ${campaignId}: needs ${needed}, balance ${balance} ` +
        `(short by ${needed - balance}); top up, or start with --force to send until the balance runs out`,
      'credits',
    );
  }
  if (result.forced) deps.logger.warn({ campaignId, kind, needed, balance }, 'starting with too few credits (--force)');
  return result;
}
