/** Builders that put campaigns and messages straight into PostgreSQL for API tests. */
import { randomBytes } from 'node:crypto';
import type { Container } from '../../src/container';
import type { MessageStatus, OutcomeClass } from '../../src/generated/prisma/enums';

export interface SeedMessage {
  phone?: string;
  status: MessageStatus;
  outcomeClass?: OutcomeClass;
  failureReason?: string;
  providerText?: string;
  sessionId?: string;
}

export async function seedCampaign(
  c: Container,
  messages: SeedMessage[],
  opts: { name?: string; status?: 'draft' | 'running' | 'paused' | 'completed' } = {},
): Promise<{ campaignId: string; runId: string; listId: string }> {
  const list = await c.prisma.contactList.create({ data: { name: `list-${randomBytes(4).toString('hex')}`, status: 'ready' } });
  const campaign = await c.prisma.campaign.create({
    data: {
      name: opts.name ?? 'seeded', listId: list.id, type: 'transactional', sender: 'ACMEIN', text: 'Hello',
      status: opts.status ?? 'running',
    },
  });
  const run = await c.prisma.campaignRun.create({ data: { campaignId: campaign.id, runNumber: 1, status: 'running' } });
  await c.prisma.message.createMany({
    data: messages.map((m, i) => ({
      runId: run.id,
      campaignId: campaign.id,
      phone: m.phone ?? `+9198${String(i).padStart(8, '0')}`,
      status: m.status,
      outcomeClass: m.outcomeClass ?? null,
      failureReason: m.failureReason ?? null,
      providerText: m.providerText ?? null,
      sessionId: m.sessionId ?? null,
    })),
  });
  return { campaignId: campaign.id, runId: run.id, listId: list.id };
}
