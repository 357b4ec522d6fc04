/**
 * Manual starts (`bulksms campaign start`, `bulksms send`, `POST /api/campaigns/:id/start`) compare the credits
 * the run needs with the provider balance before anything is materialised, as scheduled runs do (the scheduler's
 * prepareRun). Unless forced, the start is refused and the campaign stays as it was:
 * - too few credits → ConflictError (CLI exit 2, HTTP 409) naming what is needed and what is available;
 * - the balance cannot be read (provider unreachable, key refused) → ServiceError (exit 1, HTTP 503): a balance
 *   we could not read is never guessed.
 * `force` skips the lookup altogether, so an operator can start while the provider's balance API is down.
 */
import type { Container } from '../container';
import { BalanceUnavailableError, atLeast, measureCredits } from '../campaign/credit-check';
import { accountSlots, pacedBalance } from '../delivery/paced-slot';
import { ConflictError, ServiceError, ValidationError } from '../errors';
import type { SmsProvider } from '../provider/sms-provider';
import { createTwoFactorProviderFromConfig } from '../provider/twofactor/client';
import { STARTABLE_STATUSES, readCampaignStatus, startCampaign } from './campaign-control';

export type BalanceSource = Pick<SmsProvider, 'balance'>;
export type ManualStartDeps = Pick<Container, 'pg' | 'redis' | 'config' | 'prisma' | 'logger'>;

export interface ManualStartResult {
  campaignId: string;
  runId: string;
  status: string;
}

/**
 * Starts a campaign now. `balances` is the provider to ask; without one, a 2Factor client is built from the
 * configuration (TWOFACTOR_BASE_URL, TWOFACTOR_API_KEY) for this one lookup.
 */
export async function startCampaignManually(
  deps: ManualStartDeps,
  campaignId: string,
  opts: { force?: boolean; balances?: BalanceSource; now?: Date } = {},
): Promise<ManualStartResult> {
  // Only a start that materialises a run is checked: starting a running campaign returns its run, and a finished
  // one is a conflict that startCampaign reports itself.
  if (STARTABLE_STATUSES.has(await readCampaignStatus(deps, campaignId))) {
    if (opts.force) deps.logger.warn({ campaignId }, 'manual start with --force: provider balance not checked');
    else await requireCredits(deps, campaignId, opts.balances);
  }
  return startCampaign(deps, campaignId, { trigger: 'manual', force: opts.force, now: opts.now });
}

async function requireCredits(deps: ManualStartDeps, campaignId: string, balances: BalanceSource | undefined): Promise<void> {
  const own = balances ? null : configuredProvider(deps, campaignId);
  try {
    const check = await measureCredits(deps, budgetedBalance(deps, balances ?? own!), campaignId).catch((err: unknown) => {
      if (!(err instanceof BalanceUnavailableError)) throw err;
      const why = err.message;
      throw new ServiceError(
        (n) =>
          `campaign ${campaignId} not started: ${why}. Nothing was sent; try again when the provider answers, ` +
          `or start with ${n('force')} to skip the balance check`,
        { cause: err },
      ).overridable('force');
    });
    if (!check.sufficient) {
      const { needed, kind, balance } = check;
      const min = atLeast(check);
      // A template's own text is 2Factor's and not counted: the figure is a floor, and said to be one.
      const floor = check.neededExact ? '' : ' (its template text, held by 2Factor, is not counted)';
      throw new ConflictError(
        (n) =>
          `campaign ${campaignId} not started: it needs ${min}${needed} ${kind} credits${floor} but the provider balance is ` +
          `${balance} (short by ${min}${needed - balance}). Nothing was sent; top up, or start with ${n('force')} ` +
          `to send until the balance runs out`,
      ).overridable('force');
    }
    deps.logger.info({ campaignId, kind: check.kind, needed: check.needed, balance: check.balance }, 'credit check passed');
  } finally {
    await own?.close();
  }
}

function configuredProvider(deps: ManualStartDeps, campaignId: string): SmsProvider {
  try {
    return createTwoFactorProviderFromConfig(deps, { connections: 1 });
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    throw new ValidationError(
      (n) =>
        `campaign ${campaignId} not started: the provider balance cannot be checked (${err.messageFor(n)}); ` +
        `set it, or start with ${n('force')} to skip the balance check`,
      err.field,
    ).overridable('force');
  }
}

/** The lookup spends one slot of the account-wide request budget, like every other call to the provider. */
function budgetedBalance(deps: ManualStartDeps, provider: BalanceSource): BalanceSource {
  return pacedBalance(accountSlots(deps), provider);
}
