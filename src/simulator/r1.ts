/**
 * `POST|GET /API/R1/` (module TRANS_SMS | PROMO_SMS). Checks run in this order: rate window, faults, key,
 * parameters, balance; only then is the request accepted (side effects happen before the latency, so a
 * client that times out during the delay meets a really ambiguous send).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { countSegments } from '../campaign/segments';
import { drawFinal } from './delivery';
import { envelope, fault as answerFault } from './responses';
import { INVALID_KEY, type Simulator } from './simulator';

/** `+91XXXXXXXXXX`, `91XXXXXXXXXX` or 10 digits → `91XXXXXXXXXX`; null when not an Indian mobile number. */
export function normaliseNumber(raw: string): string | null {
  const digits = raw.trim().replace(/^\+/, '');
  if (/^[6-9]\d{9}$/.test(digits)) return `91${digits}`;
  if (/^91[6-9]\d{9}$/.test(digits)) return digits;
  return null;
}

/** Fill `{#var#}` placeholders in order. */
export function renderTemplate(template: string, vars: readonly string[]): string {
  let i = 0;
  return template.replace(/\{#var#\}/gi, () => vars[i++] ?? '');
}

function templateVars(params: URLSearchParams): string[] {
  const vars: string[] = [];
  for (let i = 1; params.has(`var${i}`); i++) vars.push(params.get(`var${i}`) ?? '');
  return vars;
}

type Checked = { ok: true; recipients: string[]; text: string } | { ok: false; details: string; kind: string };

function checkParams(sim: Simulator, params: URLSearchParams): Checked {
  const module = params.get('module');
  if (module !== 'TRANS_SMS' && module !== 'PROMO_SMS') return { ok: false, kind: 'bad_request', details: 'Invalid Module' };
  const rawTo = (params.get('to') ?? '').split(',').filter((s) => s.trim() !== '');
  const recipients = rawTo.map(normaliseNumber);
  if (recipients.length === 0 || recipients.some((r) => r === null)) {
    return { ok: false, kind: 'invalid_number', details: 'Invalid Phone Number - Length Mismatch(Expected: 10)' };
  }
  for (const r of recipients) {
    const refusal = sim.opts.refusals[r!];
    if (refusal !== undefined) return { ok: false, kind: 'refused_number', details: refusal };
  }
  const from = params.get('from') ?? '';
  const { senders, templates } = sim.opts;
  if (!from || (senders !== null && !senders.includes(from))) {
    return { ok: false, kind: 'sender', details: `Access Denied - Sender Id '${from}' not approved` };
  }
  const name = params.get('templatename');
  const msg = params.get('msg');
  let text: string;
  if (name) {
    const template = templates === null ? `${name}: {#var#} {#var#} {#var#}` : templates[name];
    if (template === undefined) return { ok: false, kind: 'template', details: 'Invalid Template' };
    text = renderTemplate(template, templateVars(params));
  } else if (msg) {
    text = msg;
  } else {
    return { ok: false, kind: 'template', details: 'Missing templatename value' };
  }
  return { ok: true, recipients: recipients as string[], text };
}

/** `now`: when the request arrived (performance.now() ms), which is what the rate window counts. */
export function handleSend(sim: Simulator, params: URLSearchParams, res: ServerResponse, now: number): void {
  const c = sim.counters;
  c.arrival(now);
  const key = params.get('apikey') ?? '';
  if (!sim.admit(key, now)) {
    c.throttled++;
    envelope(res, 'Error', 'Too Many Requests', 429, { 'retry-after': '1' });
    return;
  }
  // A fault drawn here strikes before the send is processed, or — a share of them — once it was accepted.
  const fault = sim.roll(sim.opts.hangRate) ? 'hang' : sim.roll(sim.opts.failRate) ? sim.opts.faultKind : null;
  const strike = (): void => {
    c.error(fault!);
    if (fault === 'hang') sim.hold(res);
    else sim.later(() => answerFault(res, fault!));
  };
  const afterAccept = fault !== null && sim.roll(sim.opts.faultAfterAccept);
  if (fault && !afterAccept) return strike();
  const fail = (kind: string, details: string): void => {
    c.error(kind);
    sim.later(() => envelope(res, 'Error', details));
  };
  if (!sim.keyValid(key)) return fail('invalid_key', INVALID_KEY);
  const checked = checkParams(sim, params);
  if (!checked.ok) return fail(checked.kind, checked.details);
  // One credit per SMS segment per recipient, as the campaign's credit estimate counts them (src/campaign/
  // estimate.ts): charged per recipient, a long or Hindi text let through twice the messages a balance pays for.
  if (!sim.charge(checked.recipients.length * countSegments(checked.text).segments)) return fail('balance', 'Access Denied - Balance is too low');

  const id = randomUUID().replace(/-/g, '');
  const digest = createHash('sha1').update(checked.text).digest();
  const { dlrFailRate, dltRejectRate, dlrDelayMs } = sim.opts;
  sim.record({
    id,
    text: checked.text,
    recipients: checked.recipients.map((to) => ({ to, final: drawFinal(Math.random(), dlrFailRate, dltRejectRate) })),
    finalAt: Date.now() + dlrDelayMs,
  });
  c.accept(checked.recipients, digest.readUIntBE(0, 6));
  sim.writeLog(checked.recipients, digest, id);
  if (afterAccept) return strike();
  sim.later(() => envelope(res, 'Success', id));
}
