import { createWindowWatcher, windowPauseReason } from '../../../src/campaign/window-watcher';
import { useTestEnv } from '../../helpers/env';
import { seedList } from '../../fixtures/seed-list';

const env = useTestEnv();
const ist = (s: string): Date => new Date(`${s}+05:30`);

let clock = ist('2026-11-26T20:59:59');
const calls: string[] = [];

/** Stand-ins for the sending team's pauseCampaign/resumeCampaign: record, and change the status like they do. */
const pause = async (id: string, reason: string): Promise<void> => {
  calls.push(`pause ${id} ${reason}`);
  await env.container().prisma.campaign.update({ where: { id }, data: { status: 'paused', pauseReason: reason } });
};
const resume = async (id: string): Promise<void> => {
  calls.push(`resume ${id}`);
  await env.container().prisma.campaign.update({ where: { id }, data: { status: 'running', pauseReason: null } });
};

async function campaign(type: 'promotional' | 'transactional', status: 'running' | 'paused', pauseReason?: string): Promise<string> {
  const list = await env.container().prisma.contactList.findFirstOrThrow();
  const c = await env.container().prisma.campaign.create({
    data: { name: `${type}-${status}`, listId: list.id, type, sender: type === 'promotional' ? '123456' : 'TFCTOR', text: 'x', status, pauseReason },
  });
  return c.id;
}

beforeAll(async () => {
  await seedList(env.container().pg, 'l', [], []);
});

describe('TRAI window watcher', () => {
  it('pauses running promotional campaigns at 21:00 IST and resumes them at 09:00, leaving others alone', async () => {
    const promo = await campaign('promotional', 'running');
    const trans = await campaign('transactional', 'running');
    const operatorPaused = await campaign('promotional', 'paused', 'paused by operator');
    const watcher = createWindowWatcher(env.container(), { pause, resume, now: () => clock });

    expect(await watcher.tick()).toEqual({ within: true, paused: [], resumed: [] });
    clock = ist('2026-11-26T21:00:00');
    expect(await watcher.tick()).toEqual({ within: false, paused: [promo], resumed: [] });
    const row = await env.container().prisma.campaign.findUniqueOrThrow({ where: { id: promo } });
    expect(row).toMatchObject({ status: 'paused', pauseReason: expect.stringMatching(/outside TRAI promotional window \(09:00–21:00 IST\); resumes 09:00/) });
    clock = ist('2026-11-27T03:00:00');
    expect((await watcher.tick()).paused).toEqual([]); // already paused: nothing to do

    clock = ist('2026-11-27T09:00:00');
    expect(await watcher.tick()).toEqual({ within: true, paused: [], resumed: [promo] });
    expect(calls).toEqual([`pause ${promo} ${row.pauseReason}`, `resume ${promo}`]);
    const after = await env.container().prisma.campaign.findMany({ where: { id: { in: [trans, operatorPaused] } }, orderBy: { name: 'asc' } });
    expect(after.map((c) => c.status).sort()).toEqual(['paused', 'running']);
  });

  it('a promotional run started outside the window waits (starts paused) until 09:00', async () => {
    expect(windowPauseReason('promotional', ist('2026-11-26T22:30:00'))).toMatch(/outside TRAI promotional window/);
    expect(windowPauseReason('promotional', ist('2026-11-26T10:00:00'))).toBeNull();
    expect(windowPauseReason('transactional', ist('2026-11-26T22:30:00'))).toBeNull();
    // Started anyway at 22:30 (e.g. by an old client): the watcher pauses it on its next tick.
    calls.length = 0;
    const late = await campaign('promotional', 'running');
    clock = ist('2026-11-26T22:30:00');
    const watcher = createWindowWatcher(env.container(), { pause, resume, now: () => clock });
    expect((await watcher.tick()).paused).toContain(late);
  });

  it('ticks by itself when started', async () => {
    calls.length = 0;
    const id = await campaign('promotional', 'running');
    clock = ist('2026-11-26T23:00:00');
    const watcher = createWindowWatcher(env.container(), { pause, resume, now: () => clock, intervalMs: 50 });
    watcher.start();
    const end = Date.now() + 3000;
    while (!calls.some((c) => c.startsWith(`pause ${id}`)) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    watcher.stop();
    expect(calls.filter((c) => c.startsWith(`pause ${id}`))).toHaveLength(1);
  });
});
