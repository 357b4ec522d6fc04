/**
 * Campaign creation: validates everything an operator can get wrong *before* anything is stored (list, sender,
 * placeholders, schedule), computes encoding/segments/credits over the list, and stores one `campaigns` row
 * (`draft`, or `scheduled` with --at/--cron). Starting, pausing and sending belong to src/sending.
 */
import type { Container } from '../container';
import type { BeforeCommit } from '../db/transaction';
import { didYouMeanList, findContactList } from '../import/list-index';
import { ConflictError, NotFoundError, ValidationError } from '../errors';
import { estimateCampaign, type CampaignContent, type UnrenderableContact } from './estimate';
import { isGsm7, nonGsmCharacters, type Encoding } from './segments';
import { DEFAULT_TIMEZONE, assertTimeZone, firstFiringOutsideWindow, formatWallClock, parseAt, parseCron } from './schedule-input';
import { scheduleCampaign } from './schedule-queue';
import { formatIst, isWithinWindow } from './send-window';
import { literalText, normaliseVariableName, placeholders, RECIPIENT_PHONE } from './template';
import { validateCampaignFields, type CampaignType } from './validation';

export interface CreateCampaignInput {
  name: string;
  /** List name or id. */
  list: string;
  type: CampaignType;
  from: string;
  text?: string;
  template?: string;
  vars?: string[];
  peid?: string;
  ctid?: string;
  at?: string;
  cron?: string;
  tz?: string;
  packSize?: number;
  /**
   * Its messages are kept RETENTION_REGULATED_DAYS (banking: 7 years) after a run ends before `bulksms archive`
   * deletes them, instead of RETENTION_DAYS; `--older-than` never shortens that. Nothing could set it before.
   */
  regulated?: boolean;
}

export interface CreateCampaignResult {
  campaignId: string;
  status: 'draft' | 'scheduled';
  recipients: number;
  encoding: Encoding;
  /** Segments of the longest message (what one message may cost). */
  segments: number;
  segmentsMin: number;
  segmentsMax: number;
  credits: number;
  scheduleAt: string | null;
  cron: string | null;
  /** Kept RETENTION_REGULATED_DAYS before archiving (see CreateCampaignInput.regulated). */
  regulated: boolean;
  warnings: string[];
}

export type CampaignDeps = Pick<Container, 'config' | 'logger' | 'prisma' | 'pg' | 'redis'>;

/** More parts than this usually means a mistake (and costs that many credits per recipient). */
export const SEGMENT_WARN_THRESHOLD = 6;

async function findReadyList(deps: CampaignDeps, ref: string): Promise<{ id: string; name: string; columns: string[] }> {
  const list = await findContactList(deps, ref);
  if (!list) {
    const hint = await didYouMeanList(deps, ref, ' (import it first)');
    throw new NotFoundError((n) => `${n('list')}: no contact list named or with id "${ref}"${hint}`);
  }
  if (list.status !== 'ready') {
    const { name, status } = list;
    const why = status === 'failed' && list.failureReason ? `: ${list.failureReason}` : '';
    throw new ConflictError((n) => `${n('list')}: contact list "${name}" is ${status}${why}; only ready lists can be used`);
  }
  return list;
}

/** Every `{{column}}` and every `--var` must name a column of the list (normalised like CSV headers), or `phone`. */
function checkColumns(listName: string, columns: string[], wanted: string[], input: 'text' | 'vars'): void {
  const have = new Set([...columns, RECIPIENT_PHONE].map(normaliseVariableName));
  const missing = wanted.filter((w) => !have.has(normaliseVariableName(w)));
  if (missing.length) {
    const what = input === 'text' ? 'placeholder' : 'column';
    throw new ValidationError(
      (n) =>
        `${n(input)} ${what} ${missing.map((m) => `"${m}"`).join(', ')} ${missing.length === 1 ? 'is' : 'are'} not a column of list "${listName}" (columns: ${columns.join(', ') || 'none'}; and ${RECIPIENT_PHONE}, the recipient's number)`,
      input,
    );
  }
}

/** How far ahead `--at` may be. */
const MAX_SCHEDULE_AHEAD_MS = 366 * 86_400_000;

/** Why an unrenderable recipient's message would fail, as the create warning says it per example. */
const WHY: Record<UnrenderableContact['why'], string> = {
  empty: 'is empty',
  placeholder: 'holds a placeholder',
  control: 'holds an invisible control character',
};

interface Schedule {
  scheduleAt: Date | null;
  cron: string | null;
  timezone: string;
}

function parseSchedule(input: CreateCampaignInput, now: Date): Schedule {
  const timezone = assertTimeZone(input.tz ?? DEFAULT_TIMEZONE);
  const scheduleAt = input.at !== undefined ? parseAt(input.at, timezone) : null;
  if (scheduleAt && !input.cron && scheduleAt.getTime() <= now.getTime()) {
    // In the operator's zone, as typed: the UTC instant alone made a past 10:00 IST read as 04:30.
    throw new ValidationError((n) => `${n('at')}: ${formatWallClock(scheduleAt, timezone)} is in the past (now ${formatWallClock(now, timezone)})`, 'at');
  }
  // A year mistyped (2062 for 2026) would otherwise wait silently for decades; nobody books an SMS that far ahead.
  if (scheduleAt && scheduleAt.getTime() > now.getTime() + MAX_SCHEDULE_AHEAD_MS) {
    throw new ValidationError(
      (n) => `${n('at')}: ${formatWallClock(scheduleAt, timezone)} is more than a year ahead (now ${formatWallClock(now, timezone)}); check the year`,
      'at',
    );
  }
  const cron = input.cron !== undefined ? input.cron.trim() : null;
  if (cron !== null) parseCron(cron, timezone, cronFrom({ scheduleAt, cron, timezone }, now));
  return { scheduleAt, cron, timezone };
}

/**
 * What createCampaign checks of its input before it touches the database (fields, sender, schedule): a one-shot
 * `send` runs it before importing, so bad usage stores nothing.
 */
export function checkCampaignInput(deps: Pick<Container, 'config'>, input: CreateCampaignInput, now: Date = new Date()): CheckedCampaignInput {
  const fields = validateCampaignFields(input, {
    transactional: deps.config.SENDER_PATTERN_TRANSACTIONAL,
    promotional: deps.config.SENDER_PATTERN_PROMOTIONAL,
  });
  return { fields, schedule: parseSchedule(input, now) };
}

export interface CheckedCampaignInput {
  fields: ReturnType<typeof validateCampaignFields>;
  schedule: Schedule;
}

/** The campaign's text or template variables against the list's columns (placeholders must name a column). */
export function campaignContent(listName: string, columns: string[], fields: CheckedCampaignInput['fields']): CampaignContent {
  if (fields.text !== undefined) {
    checkColumns(listName, columns, placeholders(fields.text), 'text');
    return { kind: 'text', text: fields.text };
  }
  checkColumns(listName, columns, fields.vars, 'vars');
  return { kind: 'template', name: fields.template!, vars: fields.vars };
}

export interface CreateCampaignOptions {
  now?: Date;
  /** Statements committed in the campaign's insert transaction (the API's Idempotency-Key record). */
  beforeCommit?: BeforeCommit<CreateCampaignResult>;
}

export async function createCampaign(
  deps: CampaignDeps,
  input: CreateCampaignInput,
  opts: CreateCampaignOptions = {},
): Promise<CreateCampaignResult> {
  const now = opts.now ?? new Date();
  const { fields, schedule } = checkCampaignInput(deps, input, now);
  const list = await findReadyList(deps, input.list);
  const content = campaignContent(list.name, list.columns, fields);

  const est = await estimateCampaign(deps.pg, list.id, content);
  const warnings = buildWarnings(input, fields.packSize, est, schedule, now);
  const status = schedule.scheduleAt || schedule.cron ? 'scheduled' : 'draft';
  const resultFor = (campaignId: string): CreateCampaignResult => ({
    campaignId,
    status,
    recipients: est.recipients,
    encoding: est.encoding,
    segments: est.stats.segmentsMax,
    segmentsMin: est.stats.segmentsMin,
    segmentsMax: est.stats.segmentsMax,
    credits: est.credits,
    scheduleAt: schedule.scheduleAt?.toISOString() ?? null,
    cron: schedule.cron,
    regulated: input.regulated === true,
    warnings,
  });

  const result = await deps.prisma.$transaction(async (tx) => {
    // The list may have changed since it was read (a delete marks it `deleting` while the estimate runs): its share
    // lock waits for a delete's check-and-mark (src/import/delete-list.ts), and the status is read again under it.
    const [locked] = await tx.$queryRaw<{ status: string }[]>`SELECT status::text AS status FROM contact_lists WHERE id = ${list.id}::uuid FOR SHARE`;
    if (locked?.status !== 'ready') {
      throw new ConflictError((n) => `${n('list')}: contact list "${list.name}" is ${locked?.status ?? 'gone'}; only ready lists can be used`);
    }
    const created = await tx.campaign.create({
      data: {
        name: fields.name,
        listId: list.id,
        type: fields.type,
        sender: fields.from,
        text: content.kind === 'text' ? content.text : null,
        templateName: content.kind === 'template' ? content.name : null,
        templateVars: content.kind === 'template' ? content.vars : [],
        peid: fields.peid ?? null,
        ctid: fields.ctid ?? null,
        status,
        scheduleAt: schedule.scheduleAt,
        cron: schedule.cron,
        timezone: schedule.timezone,
        packSize: fields.packSize,
        regulated: input.regulated === true,
        encoding: est.encoding,
        segmentsMin: est.stats.segmentsMin,
        segmentsMax: est.stats.segmentsMax,
        credits: est.credits,
      },
      select: { id: true },
    });
    const answer = resultFor(created.id);
    await opts.beforeCommit?.((sql, params) => tx.$executeRawUnsafe(sql, ...params), answer);
    return answer;
  }, { maxWait: 10_000, timeout: 10_000 });
  deps.logger.info({ campaignId: result.campaignId, listId: list.id, status, recipients: est.recipients }, 'campaign created');
  if (status === 'scheduled') {
    // Running workers pick it up at once; if Redis is unavailable now, workers rebuild it from PostgreSQL.
    await scheduleCampaign(deps, result.campaignId).catch((err: unknown) =>
      deps.logger.warn({ err, campaignId: result.campaignId }, 'schedule not queued yet; a worker will pick it up when it syncs'),
    );
  }
  return result;
}

function buildWarnings(
  input: CreateCampaignInput,
  packSize: number,
  est: Awaited<ReturnType<typeof estimateCampaign>>,
  schedule: Schedule,
  now: Date,
): string[] {
  const warnings: string[] = [];
  if (est.stats.segmentsMax > SEGMENT_WARN_THRESHOLD) {
    warnings.push(
      `messages of up to ${est.stats.segmentsMax} segments (more than ${SEGMENT_WARN_THRESHOLD}): each costs that many credits; shorten the text`,
    );
  }
  if (est.recipients === 0) warnings.push('the list has no sendable recipients (empty or all suppressed)');
  if (est.unrenderable > 0) {
    // Which rows, as the import's report names them: a count alone left the operator to search the file.
    const named = (column: string) => (input.text !== undefined ? `{{${column}}}` : column);
    const examples = est.unrenderableExamples.map(
      (e) => `line ${e.line}: ${named(e.column)} ${WHY[e.why]}`,
    );
    const more = est.unrenderable > examples.length ? ', …' : '';
    warnings.push(
      `${est.unrenderable} recipient(s) have an empty value for a {{column}}, or one holding a placeholder ({{…}} or {#…#}) or an invisible control character, ` +
        `and will fail instead of being sent (${examples.join('; ')}${more})`,
    );
  }
  if (est.stats.ucs2 > 0) warnings.push(`${est.stats.ucs2} message(s) need UCS-2 (non-GSM characters): 70 characters per SMS instead of 160${ucs2Cause(input, est)}`);
  const escaped = input.text !== undefined ? /\\[nr]/.exec(input.text)?.[0] : undefined;
  if (escaped) {
    // A shell's double quotes keep `\n` as two characters: the line break the DLT template has never reaches the text.
    warnings.push(
      `the text holds "${escaped}" as two characters (a backslash and ${escaped[1]}), sent as they stand: for a line break ` +
        `put a real one in the text (in bash: --text $'Dear {{name}},\\nYour order…'; the dashboard's text box takes Enter)`,
    );
  }
  if (input.template !== undefined) {
    warnings.push(`segments for provider template "${input.template}" are counted from the variable values only (the template text lives at the provider)`);
  }
  if (packSize > 1 && input.text !== undefined && placeholders(input.text).length > 0) {
    warnings.push('--pack only groups recipients whose rendered text is identical; personalised texts are mostly sent one by one');
  }
  if (input.type === 'promotional') {
    if (schedule.scheduleAt && !schedule.cron && !isWithinWindow(schedule.scheduleAt)) {
      warnings.push('promotional messages go out only between 09:00 and 21:00 IST; this campaign will wait for the window');
    }
    const outside = schedule.cron ? firstFiringOutsideWindow(schedule.cron, schedule.timezone, cronFrom(schedule, now)) : null;
    if (outside) {
      warnings.push(
        `promotional messages go out only between 09:00 and 21:00 IST; firings outside it (the first: ${formatIst(outside)}) ` +
          'wait for 09:00 IST, and firings that wait together make one run',
      );
    }
  }
  return warnings;
}

/**
 * How a character is shown in a warning: itself (unless invisible) and its code point, `’ (U+2019)`. A combining mark
 * on its own would sit on the quote or bracket printed before it: named instead.
 */
function describeCharacter(ch: string): string {
  const code = `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
  if (/^\p{M}$/u.test(ch)) return `${code} (a combining mark)`;
  return /^[\p{Z}\p{C}]$/u.test(ch) ? `${code} (invisible)` : `${ch} (${code})`;
}

/**
 * What made the messages UCS-2: the text's own characters (one pasted curly quote doubles the credits of every
 * message, and said only as "non-GSM characters" it could not be found), else the values of which columns.
 */
function ucs2Cause(input: CreateCampaignInput, est: Awaited<ReturnType<typeof estimateCampaign>>): string {
  const literal = input.text !== undefined ? literalText(input.text) : '';
  const own = nonGsmCharacters(literal);
  // "Café" pasted decomposed (e + U+0301, as macOS and some editors write it) is UCS-2, the same text composed GSM-7:
  // named as such, else the operator sees only an accent mark and pays for it twice over. Not fixed silently: the
  // text is sent exactly as written (it must match the DLT template).
  const decomposed = isGsm7(literal.normalize('NFC'))
    ? ': its accents are written as separate combining marks (decomposed); composed, as é is one character, the text is GSM-7'
    : '';
  if (own.length) return `; the text itself has ${own.map(describeCharacter).join(', ')}, outside the GSM alphabet, so every message is UCS-2${decomposed}`;
  if (est.ucs2Columns.length) return `; caused by values of ${est.ucs2Columns.map((c) => (input.text !== undefined ? `{{${c}}}` : c)).join(', ')}`;
  return '';
}

/** Where a cron's firings start: its `--at` (a start date) when still ahead, else now (as parseSchedule checks it). */
function cronFrom(schedule: Schedule, now: Date): Date {
  return schedule.scheduleAt && schedule.scheduleAt > now ? schedule.scheduleAt : now;
}
