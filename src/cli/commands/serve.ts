import type { Command } from 'commander';
import { isLoopbackAddress } from '../../api/auth';
import type { ApiServices } from '../../api/deps';
import { DEFAULT_MAX_UPLOAD_BYTES, buildServer } from '../../api/server';
import { createCampaign } from '../../campaign/campaign-service';
import { SCHEDULE_QUEUE } from '../../campaign/schedule-queue';
import { applyDeliveryCallback } from '../../delivery/webhook';
import { assertMigrated } from '../../db/migrate';
import { ValidationError } from '../../errors';
import { importContacts } from '../../import/import-contacts';
import { installShutdown } from '../../lib/shutdown';
import {
  cancelCampaign,
  getCampaignStatus,
  pauseCampaign,
  resumeCampaign,
  retryCampaign,
} from '../../sending/campaign-control';
import { SEND_QUEUE } from '../../sending/keys';
import { startCampaignManually, type BalanceSource } from '../../sending/manual-start';
import { createTwoFactorProviderFromConfig } from '../../provider/twofactor/client';
import { bindHostOption } from '../bind-host-option';
import { withContainer } from '../context';

interface ServeOptions {
  port: string;
  host: string;
  maxUploadMb?: string;
  queues: string;
}

/** The sending engine's queue and the scheduler's. */
const DEFAULT_QUEUES = `${SEND_QUEUE},${SCHEDULE_QUEUE}`;

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('HTTP API, dashboard (/dashboard/), delivery-report webhook, /metrics, /health, OpenAPI at /docs')
    .option('--port <port>', 'TCP port (0 = any free port)', '3000')
    .option('--host <host>', 'address to bind; non-loopback addresses require API_TOKEN', '127.0.0.1')
    .option('--max-upload-mb <mb>', `largest CSV upload in MiB (default ${DEFAULT_MAX_UPLOAD_BYTES / 1024 / 1024})`)
    .option('--queues <names>', 'comma-separated BullMQ queue names shown at /queues', DEFAULT_QUEUES)
    .addHelpText(
      'after',
      '\nExamples:\n  bulksms serve\n  API_TOKEN=$(openssl rand -hex 24) WEBHOOK_SECRET=$(openssl rand -hex 24) bulksms serve --host 0.0.0.0 --port 8080',
    )
    .action(
      withContainer(async (container, opts: ServeOptions) => {
        const port = Number(opts.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ValidationError(`--port: invalid port "${opts.port}"`, 'port');
        bindHostOption('--host', opts.host);
        if (!container.config.API_TOKEN && !isLoopbackAddress(opts.host)) {
          throw new ValidationError(
            `refusing to bind ${opts.host} without API_TOKEN: set API_TOKEN (at least 16 characters) or bind 127.0.0.1`,
          );
        }
        const maxMb = opts.maxUploadMb === undefined ? undefined : Number(opts.maxUploadMb);
        if (maxMb !== undefined && !(maxMb > 0)) throw new ValidationError(`--max-upload-mb: invalid size "${opts.maxUploadMb}"`, 'maxUploadMb');
        // For /health (reachability + key accepted, cached) and the balance check of manual starts; sending happens
        // in workers.
        const provider = container.config.TWOFACTOR_API_KEY
          ? createTwoFactorProviderFromConfig(container, { connections: 2 })
          : undefined;
        if (provider) container.onClose('provider', () => provider.close());
        const app = await buildServer({
          container,
          services: wiredServices(provider),
          ...(provider ? { provider } : {}),
          options: {
            queueNames: opts.queues.split(',').map((q) => q.trim()).filter(Boolean),
            ...(maxMb ? { maxUploadBytes: Math.round(maxMb * 1024 * 1024) } : {}),
          },
        });
        await assertMigrated(container.pg);
        // The first Prisma query of a process pays the engine start-up (~seconds on a busy box): not the first user's.
        await container.prisma.campaign.findFirst({ select: { id: true } });
        const address = await app.listen({ port, host: opts.host });
        container.logger.info({ address, auth: container.config.API_TOKEN ? 'bearer' : 'loopback-only' }, 'bulksms API listening');
        process.stderr.write(`bulksms API listening on ${address} (dashboard ${address}/dashboard/, docs ${address}/docs)\n`);
        if (!container.config.API_TOKEN) {
          // A reverse proxy on this host makes every outside caller a loopback one.
          process.stderr.write('note: without API_TOKEN every request from this host has owner rights; behind a reverse proxy on this host, set API_TOKEN\n');
        }
        installShutdown(async () => {
          await app.close();
          await container.close();
        }, container.logger);
        // Runs until a signal: installShutdown closes everything and exits.
        await new Promise<never>(() => undefined);
      }),
    );
}

/**
 * The domain services, wired to their owners' implementations (interfaces.md). Starts through the API are manual:
 * they check the provider balance first (`balances`, or a client built from the configuration; `force` skips it).
 */
export function wiredServices(balances?: BalanceSource): ApiServices {
  return {
    importContacts,
    createCampaign,
    startCampaign: (deps, campaignId, opts = {}) => startCampaignManually(deps, campaignId, { force: opts.force, balances }),
    pauseCampaign,
    resumeCampaign,
    cancelCampaign,
    retryCampaign,
    getCampaignStatus,
    applyDeliveryCallback,
  };
}
