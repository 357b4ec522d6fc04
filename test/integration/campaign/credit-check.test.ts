import { createCampaign } from '../../../src/campaign/campaign-service';
import { checkCredits } from '../../../src/campaign/credit-check';
import type { BalanceKind } from '../../../src/provider/sms-provider';
import { ConflictError, ValidationError } from '../../../src/errors';
import { startCampaignManually } from '../../../src/sending/manual-start';
import { cliOption } from '../../../src/cli/input-names';
import { useTestEnv } from '../../helpers/env';
import { manyContacts, seedList } from '../../fixtures/seed-list';

const env = useTestEnv();

function fakeBalance(balances: Record<BalanceKind, number>): { balance(kind: BalanceKind): Promise<number>; asked: BalanceKind[] } {
  const asked: BalanceKind[] = [];
  return {
    asked,
    balance: async (kind) => {
      asked.push(kind);
      return balances[kind];
    },
  };
}

let trans: string;
let promo: string;
let template: string;
let templateAsText: string;

beforeAll(async () => {
  const c = env.container();
  await seedList(c.pg, 'l', ['name'], manyContacts(10, (i) => ({ name: `N${i}` })));
  // 170 GSM characters => 2 segments each => 20 credits.
  trans = (await createCampaign(c, { name: 't', list: 'l', type: 'transactional', from: 'TFCTOR', text: `{{name}} ${'x'.repeat(166)}` })).campaignId;
  promo = (await createCampaign(c, { name: 'p', list: 'l', type: 'promotional', from: '123456', text: 'Sale {{name}}' })).campaignId;
  // A list of their own (a test below adds to 'l'). 2Factor holds the template's text: only the values are counted
  // (N0..N9, one segment each => at least 10 credits); the same values as a text, 2 segments each => 20.
  await seedList(c.pg, 'tl', ['name'], manyContacts(10, (i) => ({ name: `N${i}` })));
  template = (await createCampaign(c, { name: 'tpl', list: 'tl', type: 'transactional', from: 'TFCTOR', template: 'order-shipped', vars: ['name'] })).campaignId;
  templateAsText = (await createCampaign(c, { name: 'tpl-text', list: 'tl', type: 'transactional', from: 'TFCTOR', text: `{{name}} ${'x'.repeat(166)}` })).campaignId;
});

describe('checkCredits', () => {
  it('passes when the balance of the right product covers the run', async () => {
    const provider = fakeBalance({ TRANSACTIONAL_SMS: 20, PROMOTIONAL_SMS: 0 });
    await expect(checkCredits(env.container(), provider, trans)).resolves.toMatchObject({ needed: 20, balance: 20, sufficient: true });
    expect(provider.asked).toEqual(['TRANSACTIONAL_SMS']);
  });

  it('refuses with a clear message when short, naming the product and the numbers', async () => {
    const provider = fakeBalance({ TRANSACTIONAL_SMS: 1000, PROMOTIONAL_SMS: 7 });
    const err = await checkCredits(env.container(), provider, promo).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).messageFor(cliOption)).toMatch(/not enough PROMOTIONAL_SMS credits .* needs 10, balance 7 \(short by 3\); top up, or start with --force /);
    // Over HTTP (and in a scheduled run's alert) the way to force it is the start body's `force`, not a CLI option.
    expect((err as Error).message).toMatch(/; top up, or start with force to send/);
    expect(provider.asked).toEqual(['PROMOTIONAL_SMS']);
  });

  it('--force overrides', async () => {
    const provider = fakeBalance({ TRANSACTIONAL_SMS: 3, PROMOTIONAL_SMS: 0 });
    await expect(checkCredits(env.container(), provider, trans, { force: true })).resolves.toMatchObject({ sufficient: false, forced: true });
  });

  it('uses the create-time figure while the list is unchanged, and recounts a list changed since', async () => {
    const c = env.container();
    const provider = fakeBalance({ TRANSACTIONAL_SMS: 0, PROMOTIONAL_SMS: 100 });
    await c.prisma.campaign.update({ where: { id: promo }, data: { credits: 42 } });
    await expect(checkCredits(c, provider, promo)).resolves.toMatchObject({ needed: 42 });
    // Lists are immutable once ready; should one ever change, its newer completion time forces a recount.
    const list = await c.prisma.contactList.findUniqueOrThrow({ where: { name: 'l' } });
    await c.pg.query(`INSERT INTO contacts (list_id, phone, raw_phone, variables, source_line) VALUES ($1, '+919999999999', 'x', '{"name":"New"}', 99)`, [list.id]);
    await c.prisma.contactList.update({ where: { id: list.id }, data: { completedAt: new Date(Date.now() + 1000) } });
    await expect(checkCredits(c, provider, promo)).resolves.toMatchObject({ needed: 11 });
  });

  it('says "at least" for a template campaign, whose template text is not counted', async () => {
    const provider = fakeBalance({ TRANSACTIONAL_SMS: 7, PROMOTIONAL_SMS: 0 });
    const err = await checkCredits(env.container(), provider, template).catch((e: unknown) => e);
    expect((err as ValidationError).messageFor(cliOption)).toMatch(/credits for campaign \S+: needs at least 10, balance 7 \(short by at least 3\); top up/);
    await expect(checkCredits(env.container(), provider, templateAsText, { force: true })).resolves.toMatchObject({ neededExact: true });
  });
});

describe('manual start refusal', () => {
  it('states a template campaign\'s need as "at least", and a text campaign\'s as exact', async () => {
    const c = env.container();
    const provider = fakeBalance({ TRANSACTIONAL_SMS: 7, PROMOTIONAL_SMS: 0 });
    const refusal = (id: string) => startCampaignManually(c, id, { balances: provider }).then(() => '', (e: unknown) => (e as ConflictError).messageFor(cliOption));
    expect(await refusal(template)).toMatch(
      /not started: it needs at least 10 TRANSACTIONAL_SMS credits \(its template text, held by 2Factor, is not counted\) but the provider balance is 7 \(short by at least 3\)/,
    );
    expect(await refusal(templateAsText)).toMatch(/not started: it needs 20 TRANSACTIONAL_SMS credits but the provider balance is 7 \(short by 13\)/);
  });
});
