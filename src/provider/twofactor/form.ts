/** Builds the R1 send form. Pure; the key goes only into the body, never into a URL. */
import type { SendRequest } from '../sms-provider';

/** Our E.164 `+91XXXXXXXXXX` → 2Factor's `91XXXXXXXXXX` (its documented R1 example form). */
export function toProviderNumber(e164: string): string {
  return e164.startsWith('+') ? e164.slice(1) : e164;
}

export function buildSendForm(req: SendRequest, apiKey: string): URLSearchParams {
  const form = new URLSearchParams();
  form.set('module', req.module);
  form.set('apikey', apiKey);
  form.set('to', req.to.map(toProviderNumber).join(','));
  form.set('from', req.from);
  if (req.content.kind === 'text') {
    // Sent byte-for-byte (UTF-8 via URLSearchParams): DLT matches the approved template character for character.
    form.set('msg', req.content.text);
  } else {
    form.set('templatename', req.content.name);
    req.content.vars.forEach((value, i) => form.set(`var${i + 1}`, value));
  }
  if (req.peid) form.set('peid', req.peid);
  if (req.ctid) form.set('ctid', req.ctid);
  return form;
}
