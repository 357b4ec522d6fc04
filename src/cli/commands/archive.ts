import type { Command } from 'commander';
import { archiveExpiredRuns, type ArchiveStage } from '../../archive/archive';
import { MAX_OLDER_THAN_DAYS } from '../../archive/retention';
import { ValidationError } from '../../errors';
import { cliActor } from '../audit-cli';
import { withContainer } from '../context';
import { printResult } from '../output';

interface ArchiveCliOptions {
  olderThan?: string;
  dest?: string;
  dryRun?: boolean;
  json?: boolean;
}

export function registerArchive(program: Command): void {
  program
    .command('archive')
    .description('export expired campaign runs to verified gzip COPY files + manifest, then delete their messages')
    .option('--older-than <days>', 'archive runs that ended more than <days> ago (default RETENTION_DAYS; regulated campaigns never below RETENTION_REGULATED_DAYS; never a run that ended less than 2 × DLR_MAX_AGE_HOURS ago: reports may still change it)')
    .option('--dest <dir|s3://bucket/prefix>', 'destination (default ARCHIVE_DEST)')
    .option('--dry-run', 'only report what would be archived')
    .option('--json', 'print one JSON object')
    .addHelpText(
      'after',
      '\nExamples:\n  bulksms archive --dry-run --json\n  bulksms archive --older-than 90 --dest /srv/bulksms-archive\n' +
        '  ARCHIVE_S3_ENDPOINT=http://127.0.0.1:9000 ARCHIVE_S3_FORCE_PATH_STYLE=true bulksms archive --dest s3://archive/bulksms\n' +
        '  (uploads ask for server-side encryption, ARCHIVE_S3_SSE=AES256; a MinIO without a KMS refuses it: add ARCHIVE_S3_SSE=none there)',
    )
    .action(
      withContainer(async (c, opts: ArchiveCliOptions) => {
        let olderThanDays: number | undefined;
        if (opts.olderThan !== undefined) {
          olderThanDays = Number(opts.olderThan);
          if (!/^\d+$/.test(opts.olderThan)) throw new ValidationError(`--older-than: "${opts.olderThan}" is not a whole number of days`, 'olderThan');
          if (olderThanDays > MAX_OLDER_THAN_DAYS) {
            throw new ValidationError(`--older-than: ${opts.olderThan} days is more than ${MAX_OLDER_THAN_DAYS} (100 years)`, 'olderThan');
          }
        }
        const pauseAt = c.config.ARCHIVE_TEST_PAUSE;
        const result = await archiveExpiredRuns(c, {
          olderThanDays,
          dest: opts.dest,
          dryRun: opts.dryRun,
          actor: cliActor(),
          onStage: pauseAt ? (stage, runId) => testPause(pauseAt, stage, runId) : undefined,
        });
        printResult(opts, result, () => {
          const manifest = result.manifest ? `manifest ${result.manifest}` : 'no manifest there yet';
          if (result.dryRun) return `would archive ${result.runs} run(s), ${result.rows} message(s); ${manifest}`;
          if (!result.runs) return `nothing archived: no expired runs with messages; ${manifest}`;
          return `archived ${result.runs} run(s), ${result.rows} message(s) in ${result.files} new file(s); ${manifest}`;
        });
      }),
    );
}

/** ARCHIVE_TEST_PAUSE: announce the stage on stderr and stall, so a test can SIGKILL the process right here. */
async function testPause(pauseAt: ArchiveStage, stage: ArchiveStage, runId: string): Promise<void> {
  if (pauseAt !== stage) return;
  process.stderr.write(`archive-test-pause ${stage} ${runId}\n`);
  await new Promise((resolve) => setTimeout(resolve, 60_000));
}
