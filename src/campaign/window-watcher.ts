/**
 * Enforces the TRAI promotional window on running campaigns: outside 09:00–21:00 IST every running promotional
 * campaign is paused with a reason that says why, and at 09:00 exactly those (and only those: an operator's own
 * pause is left alone) are resumed. pause/resume are injected (the sending team's pauseCampaign/resumeCampaign).
 * Ticks every `intervalMs` and also exactly at the next 09:00/21:00 boundary.
 */
import type { Container } from '../container';
import { coerceError } from '../errors';
import { WINDOW_PAUSE_PREFIX, WINDOW_PAUSE_REASON, isWithinWindow, nextWindowClose, nextWindowOpen } from './send-window';

export interface WindowWatcherOptions {
  pause: (campaignId: string, reason: string) => Promise<unknown>;
  resume: (campaignId: string) => Promise<unknown>;
  now?: () => Date;
  intervalMs?: number;
}

export interface WindowTick {
  within: boolean;
  paused: string[];
  resumed: string[];
}

export interface WindowWatcher {
  tick(): Promise<WindowTick>;
  start(): void;
  stop(): void;
}

/** For startCampaign: the reason a promotional run must start paused now, or null when it may send. */
export function windowPauseReason(type: 'transactional' | 'promotional', now: Date): string | null {
  return type === 'promotional' && !isWithinWindow(now) ? WINDOW_PAUSE_REASON : null;
}

export function createWindowWatcher(deps: Pick<Container, 'prisma' | 'logger'>, opts: WindowWatcherOptions): WindowWatcher {
  const now = opts.now ?? ((): Date => new Date());
  const log = deps.logger.child({ component: 'trai-window' });
  let interval: NodeJS.Timeout | undefined;
  let boundary: NodeJS.Timeout | undefined;
  let running: Promise<WindowTick> | null = null;

  async function apply(ids: string[], action: (id: string) => Promise<unknown>, verb: string): Promise<string[]> {
    const done: string[] = [];
    for (const id of ids) {
      try {
        await action(id);
        done.push(id);
        log.info({ campaignId: id }, `promotional campaign ${verb} by the TRAI window`);
      } catch (err) {
        log.warn({ campaignId: id, err: coerceError(err).message }, `could not ${verb.replace(/d$/, '')} campaign for the TRAI window`);
      }
    }
    return done;
  }

  async function doTick(): Promise<WindowTick> {
    const within = isWithinWindow(now());
    if (!within) {
      const rows = await deps.prisma.campaign.findMany({ where: { type: 'promotional', status: 'running' }, select: { id: true } });
      const paused = await apply(rows.map((r) => r.id), (id) => opts.pause(id, WINDOW_PAUSE_REASON), 'paused');
      return { within, paused, resumed: [] };
    }
    const rows = await deps.prisma.campaign.findMany({
      where: { type: 'promotional', status: 'paused', pauseReason: { startsWith: WINDOW_PAUSE_PREFIX } },
      select: { id: true },
    });
    const resumed = await apply(rows.map((r) => r.id), (id) => opts.resume(id), 'resumed');
    return { within, paused: [], resumed };
  }

  function tick(): Promise<WindowTick> {
    // Never overlap two ticks (a slow pause must not be issued twice by the interval).
    running ??= doTick().finally(() => {
      running = null;
    });
    return running;
  }

  const safeTick = (): void => {
    tick().catch((err: unknown) => log.warn({ err }, 'TRAI window tick failed'));
  };

  function armBoundary(): void {
    const t = now();
    const next = Math.min(nextWindowOpen(t).getTime(), nextWindowClose(t).getTime());
    // setTimeout holds at most ~24.8 days; the boundary is always < 24 h away.
    boundary = setTimeout(() => {
      safeTick();
      armBoundary();
    }, Math.max(0, next - t.getTime()));
    boundary.unref();
  }

  return {
    tick,
    start() {
      if (interval) return;
      interval = setInterval(safeTick, opts.intervalMs ?? 1000);
      interval.unref();
      armBoundary();
      safeTick();
    },
    stop() {
      clearInterval(interval);
      clearTimeout(boundary);
      interval = undefined;
    },
  };
}
