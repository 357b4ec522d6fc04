// bulksms dashboard: plain JS, hash routing, polling. Untrusted strings only ever go through textContent.
'use strict';

const TOKEN_KEY = 'bulksms.apiToken';
const POLL_MS = 2000;
const DONE = ['sent', 'delivered', 'failed', 'unknown', 'suppressed', 'cancelled'];
const WAITING = ['pending', 'queued', 'sending'];
/** Which lifecycle buttons make sense in which campaign status (the server still decides). */
const ACTIONS_BY_STATUS = {
  draft: ['start', 'cancel'], scheduled: ['start', 'pause', 'cancel'], running: ['pause', 'cancel', 'retry'],
  paused: ['resume', 'cancel', 'retry'], completed: ['retry'], failed: ['retry'], cancelled: [],
};
const COUNT_KEYS = ['pending', 'queued', 'sending', 'sent', 'delivered', 'failed', 'unknown', 'suppressed', 'cancelled'];

let pollTimer = null;
/** Bumped by every mount(): a request answered after its view was left must not write into the next one. */
let viewGeneration = 0;
/** What the view the next hash change shows should say first (the hash change clears the flash otherwise). */
let flashOnArrival = { message: '', isError: false };
/** A start refused on the new campaign form that `force` would get past: its page offers "Start anyway" on arrival. */
let forceOffer = null;
/** campaignId -> { done, at, rate } from the previous poll, for the live rate and ETA. */
const progressHistory = new Map();

function token() { return localStorage.getItem(TOKEN_KEY) || ''; }

/**
 * What the signed-in token is (GET /api/access/me: role, phone masking, SMS OTP), or null while unknown, when
 * everything is offered and the API decides. Known, the page offers only what the role may do: a viewer was shown
 * Start, Cancel, Retry and the upload form, each answered 403, and non-owners a Queues link that is 403 too.
 */
let me = null;
const ROLE_MAY = { write: (role) => role !== 'viewer', owner: (role) => role === 'owner', viewer: (role) => role === 'viewer' };

function applyRole() {
  document.querySelectorAll('[data-needs]').forEach((node) => {
    const needs = node.dataset.needs;
    node.hidden = me === null ? needs === 'viewer' : !ROLE_MAY[needs](me.role);
  });
  showTokenState();
  showOtp();
}

// ---- the SMS-OTP second factor: an owner token with a phone sees phone numbers in clear once verified ----
/** The challenge the OTP form answers (POST /api/access/otp), and the timer that notices the grant ending. */
let otpChallenge = null;
let grantTimer = null;

function showOtp() {
  const available = Boolean(me && me.otp && me.otp.available);
  const until = available ? me.otp.grantedUntil : null;
  document.getElementById('otp').hidden = !available;
  document.getElementById('otp-request').hidden = Boolean(until) || otpChallenge !== null;
  document.getElementById('otp-form').hidden = Boolean(until) || otpChallenge === null;
  document.getElementById('otp-state').textContent = until ? `phone numbers shown until ${formatTime(until)}` : '';
  clearTimeout(grantTimer);
  // When the grant ends the API masks phones again: say so then, and offer a new OTP.
  if (until) grantTimer = setTimeout(loadMe, Math.max(0, Date.parse(until) - Date.now()) + 1000);
}

async function requestOtp() {
  const button = document.getElementById('otp-request');
  button.disabled = true;
  try {
    const challenge = await api('POST', '/api/access/otp', {});
    otpChallenge = challenge.challengeId;
    document.getElementById('otp-sent-to').textContent = challenge.sentTo;
    showOtp();
    document.getElementById('otp-input').focus();
  } catch (err) {
    flash(`OTP not sent: ${err.message}`, true);
  } finally {
    button.disabled = false;
  }
}

async function verifyOtp(ev) {
  ev.preventDefault();
  const input = document.getElementById('otp-input');
  const submit = document.querySelector('#otp-form button');
  submit.disabled = true;
  try {
    await api('POST', '/api/access/otp/verify', { challengeId: otpChallenge, otp: input.value.trim() });
    otpChallenge = null;
    input.value = '';
    await loadMe();
    flash('');
    // The view shown was read with phones masked: read it again.
    route();
  } catch (err) {
    // A mistyped code may be typed again; a used, expired or burnt challenge cannot: offer a new OTP.
    if (err.code !== 'otp_mismatch' && err.code !== 'validation') otpChallenge = null;
    flash(`OTP not accepted: ${err.message}`, true);
    showOtp();
  } finally {
    submit.disabled = false;
  }
}

/** Bumped by every loadMe(): the answer for a token replaced meanwhile (saved while it was asked) is not used. */
let meGeneration = 0;

async function loadMe() {
  const generation = ++meGeneration;
  let answer = null;
  try {
    answer = await api('GET', '/api/access/me');
  } catch {
    // No token yet, a refused one (the views say so), or a server without the route: offer everything.
  }
  if (generation !== meGeneration) return;
  me = answer;
  applyRole();
}

function saveToken(value) {
  localStorage.setItem(TOKEN_KEY, value);
  // bull-board (/queues) fetches its own API without our header: give it the token as a path-scoped cookie.
  // Secure when the dashboard itself came over HTTPS (behind a TLS proxy): the token never goes out in clear text.
  const secure = location.protocol === 'https:' ? '; Secure' : '';
  document.cookie = `bulksms_token=${encodeURIComponent(value)}; path=/queues; SameSite=Strict${secure}`;
  showTokenState();
}

function showTokenState() {
  document.getElementById('token-state').textContent = (token() ? 'token saved' : 'no token') + (me ? ` · ${me.role}` : '');
}

function flash(message, isError) {
  const el = document.getElementById('flash');
  el.textContent = message;
  el.className = isError ? 'error' : '';
  el.hidden = !message;
}

function authHeaders() {
  return token() ? { authorization: `Bearer ${token()}` } : {};
}

async function bodyOf(res) {
  const type = res.headers.get('content-type') || '';
  return type.includes('application/json') ? res.json() : res.text();
}

/** An error saying why the API refused: its own message ({"error": {...}}) when it sent one. */
function refusal(res, data) {
  const msg = data && data.error ? `${data.error.message}${data.error.field ? ` (field: ${data.error.field})` : ''}` : `HTTP ${res.status}`;
  const err = new Error(res.status === 401 ? `${msg}: enter the API token above` : msg);
  err.status = res.status;
  err.code = data && data.error ? data.error.code : undefined;
  // The API's own words and the field it names, for a form to show next to that field.
  err.field = data && data.error ? data.error.field : undefined;
  err.detail = data && data.error ? data.error.message : msg;
  // The body field that gets past this refusal when the request is repeated with it (`force` on a start).
  err.overridableBy = data && data.error ? data.error.overridableBy : undefined;
  return err;
}

/**
 * fetch(), with a failure to reach the server said as such: the browser's own words ("Failed to fetch") were all the
 * page showed while `bulksms serve` was down or the network gone, and read like a bug of the page.
 */
async function reach(path, init) {
  try {
    return await fetch(path, init);
  } catch (err) {
    // Not "retrying": the polls do (and take this down once answered), an action, upload or export does not.
    const unreachable = new Error(`cannot reach the bulksms server (${err.message}); it may be down or restarting`);
    unreachable.status = 0;
    throw unreachable;
  }
}

async function api(method, path, body) {
  const headers = authHeaders();
  const init = { method, headers };
  if (body instanceof FormData) init.body = body;
  else if (body !== undefined) { headers['content-type'] = 'application/json'; init.body = JSON.stringify(body); }
  const res = await reach(path, init);
  const data = await bodyOf(res);
  if (!res.ok) throw refusal(res, data);
  return data;
}

function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (k === 'className') node.className = v;
    else if (k === 'href') node.href = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c ?? '')));
  return node;
}

function progressOf(c) {
  const counts = c.counts || {};
  const done = DONE.reduce((a, k) => a + (counts[k] || 0), 0);
  const waiting = WAITING.reduce((a, k) => a + (counts[k] || 0), 0);
  const now = Date.now();
  const prev = progressHistory.get(c.id || c.campaignId);
  let rate = prev ? prev.rate : 0;
  if (prev && now > prev.at) {
    // A retry moves messages back to waiting: never show a negative rate.
    const instant = Math.max(0, ((done - prev.done) * 1000) / (now - prev.at));
    rate = prev.rate ? 0.5 * prev.rate + 0.5 * instant : instant;
  }
  // Only a running campaign moves: anything else shows no rate and no ETA (and starts afresh when resumed).
  if (c.status !== 'running') rate = 0;
  progressHistory.set(c.id || c.campaignId, { done, at: now, rate });
  const total = c.total || done + waiting;
  const eta = waiting === 0 || c.status !== 'running' ? '—' : rate > 0.01 ? formatSeconds(waiting / rate) : '…';
  return { done, waiting, total, pct: total ? (100 * done) / total : 0, rate, eta };
}

/**
 * A time as the operators read it: in the campaign's time zone (Asia/Kolkata unless the campaign says otherwise),
 * with the zone named. toLocaleString() alone showed the browser's zone, unnamed: UTC on a server's or a cloud
 * desktop's browser, 5 h 30 min off what an Indian operator expects and with nothing saying so.
 */
const DEFAULT_TIME_ZONE = 'Asia/Kolkata';
function formatTime(value, timeZone) {
  const options = {
    year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', timeZoneName: 'short',
  };
  try {
    return new Date(value).toLocaleString('en-IN', { ...options, timeZone: timeZone || DEFAULT_TIME_ZONE });
  } catch {
    // A zone this browser does not know (RangeError): India's, still named.
    return new Date(value).toLocaleString('en-IN', { ...options, timeZone: DEFAULT_TIME_ZONE });
  }
}

function formatSeconds(seconds) {
  // Whole units first: rounding the remainder up on its own made 119.5 s "1 min 60 s".
  const s = Math.ceil(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  const min = Math.ceil(s / 60);
  return `${Math.floor(min / 60)} h ${min % 60} min`;
}

function bar(pct) {
  const inner = el('div', { className: 'bar' });
  inner.style.width = `${Math.min(100, pct).toFixed(1)}%`;
  return el('div', { className: 'progress', title: `${pct.toFixed(1)}%` }, inner);
}

/** Shows a template; the returned function tells whether that view is still the one shown. */
function mount(templateId) {
  const view = document.getElementById('view');
  view.replaceChildren(document.getElementById(templateId).content.cloneNode(true));
  applyRole();
  const generation = ++viewGeneration;
  return () => generation === viewGeneration;
}

/**
 * Runs fn now and every POLL_MS while its view is shown. A tick still waiting for the API when the view was left
 * ends there: clearTimeout alone cannot stop it, and it went on polling the old view into the new one.
 */
function poll(fn, isShown) {
  clearTimeout(pollTimer);
  // The error this loop put up: the next answer that succeeds takes it down (the view is live again).
  let failure = null;
  const tick = async () => {
    try {
      await fn();
      if (failure !== null && isShown() && document.getElementById('flash').textContent === failure) flash('');
      failure = null;
    } catch (err) {
      if (isShown()) {
        failure = err.message;
        flash(err.message, true);
      }
    }
    if (isShown()) pollTimer = setTimeout(tick, POLL_MS);
  };
  tick();
}

// ---- campaigns list ----
function campaignRow(c) {
  const p = progressOf(c);
  const k = c.counts || {};
  return el('tr', { dataset: { id: c.id } },
    el('td', {}, el('a', { href: `#/campaign/${c.id}` }, c.name)),
    el('td', {}, el('span', { className: `status ${c.status}` }, c.status),
      c.alert ? el('span', { className: 'alert-mark', title: `Alert: ${c.alert}` }, ' ⚠ alert') : ''),
    el('td', {}, c.type),
    el('td', {}, bar(p.pct), `${p.done} / ${p.total}`, runOf(c)),
    el('td', {}, k.sent || 0), el('td', {}, k.delivered || 0), el('td', {}, k.failed || 0),
    el('td', {}, k.unknown || 0), el('td', {}, p.waiting),
    el('td', {}, `${p.rate.toFixed(1)}/s`), el('td', {}, p.eta));
}

/** A cron campaign's row counts its latest firing only: say so, or they read as the campaign's totals. */
function runOf(c) {
  if (!c.run || (c.run.runCount < 2 && !c.cron)) return '';
  const started = c.run.startedAt ? `started ${formatTime(c.run.startedAt, c.timezone)}` : 'not started yet';
  return el('span', { className: 'run-of', title: `counts of the latest run, ${started}` }, ` · run ${c.run.runNumber} of ${c.run.runCount}`);
}

function showList() {
  const isShown = mount('tpl-list');
  // Keyset pages of 50, newest first; "More" appends the page after nextCursor. The poll reloads as many pages as
  // are shown, from the top: every row keeps its live counts, and a campaign created meanwhile pushes the rows down
  // (the last one onto the page "More" fetches next) instead of one dropping out between two pages.
  let cursor = null;
  let pagesShown = 1;
  async function loadPages(from, pages) {
    const items = [];
    let next = from;
    let loaded = 0;
    do {
      const q = new URLSearchParams({ limit: '50' });
      if (next) q.set('cursor', next);
      const page = await api('GET', `/api/campaigns?${q}`);
      items.push(...page.items);
      next = page.nextCursor;
      loaded += 1;
    } while (next && loaded < pages);
    return { items, next, loaded };
  }
  async function reload() {
    const { items, next, loaded } = await loadPages(null, pagesShown);
    if (!isShown()) return;
    document.getElementById('campaigns-empty').hidden = items.length > 0;
    document.querySelector('#campaigns tbody').replaceChildren(...items.map(campaignRow));
    cursor = next;
    pagesShown = loaded;
    document.getElementById('campaigns-more').hidden = !cursor;
  }
  async function more() {
    if (!cursor) return;
    const { items, next } = await loadPages(cursor, 1);
    if (!isShown()) return;
    document.querySelector('#campaigns tbody').append(...items.map(campaignRow));
    cursor = next;
    pagesShown += 1;
    document.getElementById('campaigns-more').hidden = !cursor;
  }
  // One load at a time, in the order asked: a poll's reload answered after a "More" would drop the page it added.
  let listQueue = Promise.resolve();
  function queueList(load) {
    const run = listQueue.then(load);
    listQueue = run.catch(() => undefined);
    return run;
  }
  document.getElementById('campaigns-more').addEventListener('click', () => queueList(more).catch((err) => flash(err.message, true)));
  poll(() => queueList(reload), isShown);
}

// ---- one campaign ----
/**
 * What a retry did and what it left, and why: "re-queued 0 message(s)" beside 150 failed read as if Retry did not
 * work, when those were refused for their recipient (or failed by a delivery report), which no retry sends again.
 */
function retrySaid(res, run) {
  const left = res.notRetried || { failed: 0, unknown: 0 };
  return `re-queued ${res.requeued} message(s)${run === null ? '' : ` of run ${run}`}` +
    (left.failed ? `; ${left.failed} failed message(s) not retried: a retry sends again only what certainly did not go out, not a message refused for its recipient, failed by its delivery report or missing a variable` : '') +
    (left.unknown ? `; ${left.unknown} unknown (maybe sent) not retried: tick "include unknown" to re-send them, possibly twice` : '');
}

/**
 * A start refusal that `force: true` gets past, as `campaign start --force` does: too few credits (409), the balance
 * unreadable (503) or no provider configured to read it (400). The API says so in `error.overridableBy`; any other
 * refusal (a finished campaign, a database down) is not offered it.
 */
function forceable(err) {
  return err.overridableBy === 'force';
}

/**
 * What the campaign page's numbers cover. A cron campaign has one run per firing: counts, progress, failures by
 * reason, messages and the failures export all follow one choice — the latest run (the default, which moves on to a
 * new firing), an earlier run, or all runs — and the page says which.
 */
function scopeOf(c, choice) {
  const runs = c.runs || [];
  if (!runs.length) return { run: null, label: '', counts: c.counts || {}, total: c.total, key: c.id };
  if (choice === 'all') {
    const counts = Object.fromEntries(COUNT_KEYS.map((k) => [k, runs.reduce((a, r) => a + (r[k] || 0), 0)]));
    return { run: null, label: `all ${runs.length} runs`, counts, total: runs.reduce((a, r) => a + r.total, 0), key: `${c.id}:all` };
  }
  const latest = runs[runs.length - 1];
  const run = (choice !== 'latest' && runs.find((r) => String(r.runNumber) === choice)) || latest;
  const started = run.startedAt ? `started ${formatTime(run.startedAt, c.timezone)}` : 'not started yet';
  const counts = Object.fromEntries(COUNT_KEYS.map((k) => [k, run[k] || 0]));
  return { run: run.runNumber, label: `run ${run.runNumber} of ${runs.length}, ${started}`, counts, total: run.total, key: `${c.id}:${run.runNumber}` };
}

/**
 * When the campaign sends on its own: its `at` time while it waits for it, or its cron schedule (in its zone). The
 * page did not say, so a scheduled campaign read "scheduled" with no hint of when it would go out.
 */
function scheduleOf(c) {
  if (c.cron) return ` · every "${c.cron}" (cron, ${c.timezone || DEFAULT_TIME_ZONE})`;
  if (c.scheduleAt && c.status === 'scheduled') return ` · sends at ${formatTime(c.scheduleAt, c.timezone)}`;
  return '';
}

/**
 * What the campaign sends: its text (placeholders as typed) or its DLT template, and what one message costs. The page
 * did not say, so a draft was started, or a failing campaign read, without seeing the words that go out.
 */
function showMessageOf(c) {
  const template = c.templateName !== null && c.templateName !== undefined;
  document.querySelector('#c-message .c-message-label').textContent = template ? 'DLT template:' : 'Text:';
  document.getElementById('c-text').textContent = template ? c.templateName : c.text || '';
  const cost = [c.encoding, c.segmentsMax ? `up to ${c.segmentsMax} segment(s) per message` : '', c.credits !== null && c.credits !== undefined ? `~${c.credits} credits estimated at create` : '']
    .filter(Boolean).join(' · ');
  document.getElementById('c-cost').textContent = cost ? `(${cost})` : '';
}

function runOptions(c) {
  const runs = c.runs || [];
  const when = (r) => (r.startedAt ? `started ${formatTime(r.startedAt, c.timezone)}` : 'not started yet');
  const latest = runs[runs.length - 1];
  return [
    ['latest', `Latest run (run ${latest.runNumber}, ${when(latest)})`],
    ...runs.slice(0, -1).reverse().map((r) => [String(r.runNumber), `Run ${r.runNumber} (${r.trigger}, ${when(r)})`]),
    ['all', `All ${runs.length} runs`],
  ];
}

function showCampaign(id) {
  const isShown = mount('tpl-campaign');
  const actionButtons = document.querySelectorAll('#actions button[data-action]');
  // The actions the campaign's status allows (set by refresh), and whether one is on its way: while it is, every
  // action button stays disabled. A double-click sent the action twice (a second Retry answered "re-queued 0" over
  // the first one's count, a second Cancel asked again), and a poll in between re-enabled the buttons.
  let allowedActions = [];
  let acting = false;
  const showActionButtons = () => actionButtons.forEach((btn) => { btn.disabled = acting || !allowedActions.includes(btn.dataset.action); });
  actionButtons.forEach((btn) => {
    btn.addEventListener('click', async () => {
      if (acting) return;
      const action = btn.dataset.action;
      if (action === 'cancel' && !confirm('Cancel this campaign? Unsent messages will not be sent.')) return;
      // Retry acts on what the page shows: the run chosen under "Showing", or every run (see retryRun).
      const run = retryRun;
      const body = action === 'retry'
        ? { includeUnknown: document.getElementById('include-unknown').checked, ...(run === null ? {} : { run }) }
        : {};
      await act(action, body,
        (res) => (action === 'retry' ? retrySaid(res, run) : `${action}: campaign is now ${res.status}`),
        (err) => (action === 'start' && forceable(err) ? showForceStart(err) : flash(err.message, true)));
    });
  });
  /**
   * Posts one lifecycle action while no other is on its way (see `acting`; `button`, if given, is disabled too), says
   * what it did (`said`) or hands the refusal to `refused`, and reads the campaign again.
   */
  async function act(action, body, said, refused, button) {
    acting = true;
    if (button) button.disabled = true;
    showActionButtons();
    try {
      const res = await api('POST', `/api/campaigns/${id}/${action}`, body);
      hideForceStart();
      flash(said(res));
      await refresh();
    } catch (err) {
      refused(err);
    } finally {
      acting = false;
      if (button) button.disabled = false;
      showActionButtons();
    }
  }
  // "Start anyway": offered with the refusal's words when only the balance stood in the way; the operator confirms.
  const forceBox = document.getElementById('force-start');
  const forceButton = document.getElementById('force-start-button');
  let forceErr = null;
  function showForceStart(err) {
    forceErr = err;
    // The API's words already say "campaign … not started: …" and that force is the way past it.
    document.getElementById('force-reason').textContent = `${err.detail} `;
    forceBox.hidden = false;
    // Keyboard users land on the way out; a viewer has no such button (data-needs), nor a Start to be refused.
    if (!forceButton.hidden) forceButton.focus();
  }
  function hideForceStart() {
    forceErr = null;
    forceBox.hidden = true;
  }
  forceButton.addEventListener('click', async () => {
    if (acting || !forceErr) return;
    const question = forceErr.status === 409
      ? 'Start although the balance is short? Sending stops when the credits run out.'
      : 'Start without checking the provider balance? Sending stops if the credits run out.';
    if (!confirm(question)) return;
    await act('start', { force: true }, (res) => `start anyway: campaign is now ${res.status}`, (err) => flash(err.message, true), forceButton);
  });
  if (forceOffer && forceOffer.campaignId === id) showForceStart(forceOffer.err);
  forceOffer = null;
  /** Downloads through fetch (the token is a header); the button stays disabled until done: a double-click fetched twice. */
  const download = async (button, url, fileName) => {
    if (button.disabled) return;
    button.disabled = true;
    try {
      const res = await reach(url, { headers: authHeaders() });
      if (!res.ok) throw refusal(res, await bodyOf(res));
      const link = el('a', { href: URL.createObjectURL(await res.blob()), download: fileName });
      link.click();
      URL.revokeObjectURL(link.href);
    } catch (err) {
      flash(`export failed: ${err.message}`, true);
    } finally {
      button.disabled = false;
    }
  };
  /** The campaign's time zone (from refresh), for the messages' times. */
  let timeZone = DEFAULT_TIME_ZONE;
  // The run the page shows (see scopeOf): 'latest', a run number, or 'all'; scopeRun is what it resolved to last.
  let runChoice = 'latest';
  let scopeRun = null;
  /** The run Retry re-queues: the one shown when the page offers a choice of runs, else null (every run). */
  let retryRun = null;
  const exportFailures = document.getElementById('export-failures');
  exportFailures.addEventListener('click', () => download(exportFailures,
    `/api/campaigns/${id}/failures.csv${scopeRun === null ? '' : `?run=${scopeRun}`}`,
    `failures-${id}${scopeRun === null ? '' : `-run-${scopeRun}`}.csv`));
  const runSelect = document.getElementById('c-run');
  runSelect.addEventListener('change', () => {
    runChoice = runSelect.value;
    refresh().then(() => queueMessages(true, false)).catch((err) => flash(err.message, true));
  });
  // The import's row report: which lines of the uploaded CSV were rejected, in which column and why.
  const rejectsButton = document.getElementById('export-rejects');
  rejectsButton.addEventListener('click', () => {
    if (rejectsButton.dataset.url) download(rejectsButton, rejectsButton.dataset.url, rejectsButton.dataset.fileName);
  });

  async function refresh() {
    const choice = runChoice;
    const c = await api('GET', `/api/campaigns/${id}`);
    // Failures follow the counts' run: the choice 'latest' is only a number once the campaign says which run is.
    const scope = scopeOf(c, choice);
    const failures = await api('GET', `/api/campaigns/${id}/failure-reasons${scope.run === null ? '' : `?run=${scope.run}`}`);
    // A poll asked before another run was chosen must not put the old run's numbers back.
    if (!isShown() || choice !== runChoice) return;
    scopeRun = scope.run;
    timeZone = c.timezone || DEFAULT_TIME_ZONE;
    const p = progressOf({ id: scope.key, status: c.status, counts: scope.counts, total: scope.total });
    const scoped = (c.runs || []).length > 1 || (c.cron && (c.runs || []).length > 0);
    document.getElementById('c-scope').hidden = !scoped;
    if (scoped) {
      const options = runOptions(c);
      if (runSelect.dataset.options !== JSON.stringify(options)) {
        runSelect.dataset.options = JSON.stringify(options);
        runSelect.replaceChildren(...options.map(([value, label]) => el('option', { value }, label)));
        runSelect.value = runChoice;
      }
    }
    document.querySelectorAll('.scope-label').forEach((label) => { label.textContent = scoped ? ` · ${scope.label}` : ''; });
    retryRun = scoped ? scope.run : null;
    document.querySelector('#actions button[data-action=retry]').textContent =
      !scoped ? 'Retry failed' : scope.run === null ? 'Retry failed (all runs)' : `Retry failed (run ${scope.run})`;
    document.getElementById('c-name').textContent = c.name;
    rejectsButton.hidden = !c.listRejects?.url;
    if (c.listRejects?.url) {
      rejectsButton.dataset.url = c.listRejects.url;
      rejectsButton.dataset.fileName = `rejects-${c.listName}.csv`;
      rejectsButton.textContent = `Download the list's ${c.listRejects.rejected} rejected row(s)`;
    }
    document.getElementById('c-meta').replaceChildren(
      el('span', { className: `status ${c.status}` }, c.status), ` ${c.type} · from ${c.sender} · list ${c.listName}${c.listStatus === 'deleted' ? ' (deleted)' : c.listStatus === 'deleting' ? ' (being deleted)' : ''}${c.regulated ? ' · regulated (kept RETENTION_REGULATED_DAYS)' : ''}`, scheduleOf(c),
      // A campaign cancelled (or completed) after a pause keeps the pause's reason: it read "cancelled · paused: …".
      c.pauseReason ? ` · ${c.status === 'paused' ? 'paused' : 'last paused'}: ${c.pauseReason}` : '');
    showMessageOf(c);
    // What needs the operator (DLT rejections, a scheduled run that did not start): `campaign status` prints it in
    // red under the status line; the page did not show it at all.
    const alertLine = document.getElementById('c-alert');
    alertLine.hidden = !c.alert;
    alertLine.textContent = c.alert ? `Alert: ${c.alert}` : '';
    // A cron campaign between firings (its last run completed or failed) can still be paused (its firings are skipped
    // until resumed) or cancelled (that ends its schedule).
    const allowed = [...(ACTIONS_BY_STATUS[c.status] || []), ...(c.cron && (c.status === 'completed' || c.status === 'failed') ? ['pause', 'cancel'] : [])];
    allowedActions = allowed;
    showActionButtons();
    // Started meanwhile (another tab, the scheduler) or cancelled: there is nothing left to start anyway.
    if (!allowed.includes('start')) hideForceStart();
    document.getElementById('c-bar').style.width = `${Math.min(100, p.pct).toFixed(1)}%`;
    document.getElementById('c-rate').textContent =
      `${p.done} of ${p.total} done (${p.pct.toFixed(1)}%) · ${p.rate.toFixed(1)} msg/s · ETA ${p.eta}`;
    document.querySelector('#c-counts tbody').replaceChildren(
      el('tr', {}, ...COUNT_KEYS.map((key) => el('th', {}, key))),
      el('tr', { id: 'c-count-values' }, ...COUNT_KEYS.map((key) => el('td', { dataset: { status: key } }, scope.counts[key] || 0))));
    // The API lists the 100 most frequent reasons: the messages of the others are said, or the rows add up short.
    const omitted = failures.omittedMessages
      ? [el('tr', { className: 'omitted' }, el('td', { colspan: '3' }, 'other reasons (Download failures.csv has every message)'), el('td', {}, failures.omittedMessages))]
      : [];
    document.querySelector('#c-failures tbody').replaceChildren(...failures.items.map((f) =>
      el('tr', {}, el('td', {}, f.status), el('td', {}, f.outcomeClass || ''), el('td', {}, f.reason), el('td', {}, f.count))), ...omitted);
  }
  // Messages: keyset pages of 50, filter by status/phone; "More" follows nextCursor.
  let cursor = null;
  let pagesShown = 0;
  /** The run the table's rows are of: a different one (a new firing, another choice) reloads it from page 1. */
  let messagesRun = null;
  /**
   * The filter the table's rows were found with: applied on submit only. Read from the form at each load, a filter
   * typed but not applied went into the poll's reload and into "More" — whose cursor belongs to the applied one, so
   * the server refused it (400) and the page said so instead of showing the next rows.
   */
  let applied = { status: '', phone: '' };
  function applyFilter() {
    const filter = new FormData(document.getElementById('m-filter'));
    applied = { status: String(filter.get('status') || ''), phone: String(filter.get('phone') || '') };
  }
  async function loadMessages(reset) {
    const q = new URLSearchParams({ limit: '50' });
    const run = reset ? scopeRun : messagesRun;
    if (run !== null) q.set('run', String(run));
    if (applied.status) q.set('status', applied.status);
    if (applied.phone) q.set('phone', applied.phone);
    if (!reset && cursor) q.set('cursor', cursor);
    const page = await api('GET', `/api/campaigns/${id}/messages?${q}`);
    if (!isShown()) return;
    const rows = page.items.map((m) => el('tr', {}, el('td', {}, m.phone), el('td', {}, m.status), el('td', {}, m.attempts),
      el('td', {}, m.outcomeClass || ''), el('td', {}, m.failureReason || m.providerText || ''),
      el('td', {}, formatTime(m.updatedAt, timeZone))));
    const tbody = document.querySelector('#c-messages tbody');
    if (reset) tbody.replaceChildren(...rows); else tbody.append(...rows);
    // A lookup that finds nothing says so: an empty table read as "still loading" or "the button did nothing".
    const empty = document.getElementById('m-empty');
    empty.hidden = tbody.children.length > 0;
    empty.textContent = applied.status || applied.phone
      ? 'No message of this campaign matches.'
      : 'No messages yet: they are created when the campaign starts.';
    cursor = page.nextCursor;
    messagesRun = run;
    pagesShown = reset ? 1 : pagesShown + 1;
    document.getElementById('m-more').hidden = !cursor;
  }
  // One load at a time, in the order asked: a poll's reload of page 1 answered after a "More" wiped the page it added.
  let messagesQueue = Promise.resolve();
  function queueMessages(reset, onlyWhileFirstPage) {
    const run = messagesQueue.then(() =>
      (onlyWhileFirstPage && pagesShown > 1 && messagesRun === scopeRun ? undefined : loadMessages(reset)));
    messagesQueue = run.catch(() => undefined);
    return run;
  }
  document.getElementById('m-filter').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const before = applied;
    applyFilter();
    queueMessages(true, false).catch((err) => {
      // A filter the server refused (a phone that is no number: 400 saying why) is not kept: the reload every
      // POLL_MS asked for it again, each time refused, and the table went on showing the rows of the one before.
      applied = before;
      flash(err.message, true);
    });
  });
  document.getElementById('m-more').addEventListener('click', () => queueMessages(false, false).catch((err) => flash(err.message, true)));
  // While only the first page is shown, keep it live with the counts; once "More" was used, leave it alone.
  poll(async () => {
    await refresh();
    await queueMessages(true, true);
  }, isShown);
}

// ---- upload a list and create a campaign ----
/**
 * Which form control an API field is, per request: the list upload's `name` is the list's, the campaign's the
 * campaign's. A refusal naming one is shown next to the form with the control's label and the control marked.
 */
const UPLOAD_FIELDS = { name: 'listName', phoneColumn: 'phoneColumn', country: 'country', file: 'file' };
const CREATE_FIELDS = {
  name: 'campaignName', list: 'listName', type: 'type', from: 'from', text: 'text', template: 'template', vars: 'vars',
  peid: 'peid', ctid: 'ctid', packSize: 'packSize', at: 'at', cron: 'cron', tz: 'tz', regulated: 'regulated',
};

const OPTIONAL_CONTROLS = ['tz', 'vars', 'phoneColumn', 'country'];

/** Shows the radio choices' own fields only; hidden ones are disabled, so they are neither required nor sent. */
function showChoices(form) {
  const chosen = (name) => (form.querySelector(`input[name=${name}]:checked`) || {}).value;
  for (const [attr, name] of [['when', 'when'], ['content', 'content'], ['list', 'listSource']]) {
    form.querySelectorAll(`[data-${attr}]`).forEach((label) => {
      const shown = label.dataset[attr].split(' ').includes(chosen(name));
      // The "no list is ready" note stays hidden while there are lists to choose from.
      label.hidden = !shown || (label.id === 'no-ready-lists' && form.elements.namedItem('existingList').options.length > 0);
      label.querySelectorAll('input, textarea, select').forEach((control) => {
        control.disabled = !shown;
        // The chosen way's own field must be filled, but for those with a default: the zone (Asia/Kolkata), the
        // template's columns (none), the upload's phone column (detected) and country (IN).
        control.required = shown && !OPTIONAL_CONTROLS.includes(control.name);
      });
    });
  }
}

/**
 * The lists a campaign can be created for (ready ones, newest first), for "A list already imported". A second
 * campaign to the same people needed the CSV uploaded again under a new name: the form could only upload.
 */
async function fillReadyLists(form) {
  const select = form.elements.namedItem('existingList');
  const ready = [];
  let cursor = null;
  // Every page of the index (500 a page): an older list must stay within reach.
  do {
    const q = new URLSearchParams({ limit: '500' });
    if (cursor) q.set('cursor', cursor);
    const page = await api('GET', `/api/lists?${q}`);
    ready.push(...page.items.filter((l) => l.status === 'ready'));
    cursor = page.nextCursor;
  } while (cursor);
  select.replaceChildren(...ready.map((l) =>
    el('option', { value: l.id }, `${l.name} (${l.accepted} recipient(s), imported ${formatTime(l.createdAt)})`)));
  showChoices(form);
}

/** The words of the label of a form control ("Date and time"), without its hint after a colon or parenthesis. */
function labelOf(control) {
  const label = control.closest('label');
  const words = label && label.firstChild ? label.firstChild.textContent : control.name;
  return words.split(/[:(]/)[0].trim();
}

/** Says a refusal next to the form; one naming a field says the field's label, marks it and puts the focus there. */
function showFormError(form, err, fields) {
  const box = document.getElementById('form-error');
  // A schema refusal of one item names it as `vars.1`: the control is the list's.
  const field = err.field ? String(err.field).split('.')[0] : '';
  const control = Object.hasOwn(fields, field) ? form.elements.namedItem(fields[field]) : null;
  if (control && !control.disabled) {
    // "at: … is in the past" reads "Date and time: … is in the past"; a schema refusal says "body/packSize must be …".
    const prefix = [`${field}: `, `body/${err.field} `].find((p) => err.detail.startsWith(p));
    box.textContent = `${labelOf(control)}: ${prefix ? err.detail.slice(prefix.length) : err.detail}`;
    control.setAttribute('aria-invalid', 'true');
    control.setAttribute('aria-describedby', 'form-error');
    control.focus();
  } else {
    box.textContent = err.message;
  }
  box.hidden = false;
}

function clearFormError(form) {
  document.getElementById('form-error').hidden = true;
  form.querySelectorAll('[aria-invalid]').forEach((control) => {
    control.removeAttribute('aria-invalid');
    control.removeAttribute('aria-describedby');
  });
}

/** The create request's body from the form: the message (text, or a template with its columns) and the schedule. */
function campaignBody(f, listId) {
  const text = (name) => String(f.get(name) || '').trim();
  const body = { name: f.get('campaignName'), list: listId, type: f.get('type'), from: f.get('from') };
  if (f.get('content') === 'template') {
    body.template = text('template');
    if (text('vars')) body.vars = text('vars').split(',').map((v) => v.trim());
  } else {
    body.text = f.get('text');
  }
  for (const name of ['peid', 'ctid', 'at', 'cron', 'tz']) if (text(name)) body[name] = text(name);
  if (text('packSize')) body.packSize = Number(text('packSize'));
  // `campaign create --regulated`: the retention RETENTION_REGULATED_DAYS applies; the form could not set it.
  if (f.get('regulated') === 'on') body.regulated = true;
  // The zone is only the schedule's: without one it is not sent.
  if (!body.at && !body.cron) delete body.tz;
  return body;
}

function fillTimeZones() {
  const names = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  document.getElementById('tz-names').replaceChildren(
    ...[DEFAULT_TIME_ZONE, ...names.filter((n) => n !== DEFAULT_TIME_ZONE)].map((n) => el('option', { value: n })));
}

function showNew() {
  clearTimeout(pollTimer);
  mount('tpl-new');
  const form = document.getElementById('upload-form');
  fillTimeZones();
  showChoices(form);
  fillReadyLists(form).catch((err) => flash(`lists not loaded: ${err.message}`, true));
  form.addEventListener('change', (ev) => { if (ev.target.type === 'radio') showChoices(form); });
  // The list this form imported: when only the campaign was refused (a bad text, say), submitting again with the
  // same file and list fields uses it instead of importing it again (which the list name's uniqueness refuses).
  let lastImport = null;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = new FormData(form);
    const submit = document.getElementById('upload-submit');
    submit.disabled = true;
    clearFormError(form);
    let fields = UPLOAD_FIELDS;
    try {
      if (f.get('listSource') === 'existing') {
        const chosen = form.elements.namedItem('existingList');
        // A refusal naming `list` (not ready any more, deleted meanwhile) is said at the list chosen.
        fields = { ...CREATE_FIELDS, list: 'existingList' };
        const listName = chosen.selectedOptions[0] ? chosen.selectedOptions[0].textContent : '';
        await createAndOpen(f, chosen.value, `list ${listName}`);
        return;
      }
      const file = form.elements.namedItem('file').files[0];
      const listFields = [f.get('listName'), f.get('phoneColumn'), f.get('country')].join('\n');
      if (!lastImport || lastImport.file !== file || lastImport.listFields !== listFields) {
        // The server streams the file into the importer, so the text fields must come before the file.
        const upload = new FormData();
        upload.append('name', f.get('listName'));
        if (f.get('phoneColumn')) upload.append('phoneColumn', f.get('phoneColumn'));
        if (f.get('country')) upload.append('country', f.get('country'));
        upload.append('file', file);
        flash('uploading…');
        lastImport = { file, listFields, imported: await api('POST', '/api/lists', upload) };
        flash('');
      }
      const { imported } = lastImport;
      const result = document.getElementById('upload-result');
      const report = `list imported: ${imported.accepted} accepted, ${imported.rejected} rejected, ${imported.duplicates} duplicates, ${imported.suppressed} suppressed`;
      result.hidden = false;
      result.textContent = report;
      fields = CREATE_FIELDS;
      await createAndOpen(f, imported.listId, report);
    } catch (err) {
      flash('');
      showFormError(form, err, fields);
    } finally {
      submit.disabled = false;
    }
  });
}

/**
 * Creates the campaign the form describes for list `listId`, starts it when asked, and opens its page, where `report`
 * (what was imported, or which list was chosen) and what the create said are shown.
 */
async function createAndOpen(f, listId, report) {
  const body = campaignBody(f, listId);
  const created = await api('POST', '/api/campaigns', body);
  // The campaign exists now: a refused start is said on its page (Start is there, and Start anyway when the
  // refusal allows it), not here, where submitting again would create a second campaign.
  let notStarted = '';
  if (f.get('when') === 'now') {
    await api('POST', `/api/campaigns/${created.campaignId}/start`, {}).catch((err) => {
      notStarted = ` · not started: ${err.message}`;
      if (forceable(err)) forceOffer = { campaignId: created.campaignId, err };
    });
  }
  // What `campaign create` warns about (UCS-2 doubling the cost, long texts, no sendable recipients, the promotional
  // window): the CLI prints it before anything is sent; the page dropped it.
  const warnings = (created.warnings || []).map((w) => ` · warning: ${w}`).join('');
  // When it sends, in the zone it was entered in (India's unless another was chosen), as `campaign create` says.
  const zone = body.tz || DEFAULT_TIME_ZONE;
  const schedule = created.cron ? ` · runs on cron "${created.cron}" (${zone})`
    : created.scheduleAt ? ` · sends at ${formatTime(created.scheduleAt, zone)}` : '';
  // The campaign page replaces this form: the row report goes along, or the user never sees what was rejected.
  flashOnArrival = {
    message: `${report} · campaign created (${created.recipients} recipients, ${created.segments} segment(s), ~${created.credits} credits)${schedule}${warnings}${notStarted}`,
    isError: notStarted !== '' || warnings !== '',
  };
  location.hash = `#/campaign/${created.campaignId}`;
}

function route() {
  const hash = location.hash || '#/';
  const m = /^#\/campaign\/([0-9a-f-]{36})$/.exec(hash);
  if (m) showCampaign(m[1]);
  else if (hash === '#/new') showNew();
  else showList();
}

document.addEventListener('DOMContentLoaded', () => {
  document.getElementById('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const input = document.getElementById('token-input');
    saveToken(input.value.trim());
    input.value = '';
    flash('');
    me = null;
    otpChallenge = null;
    loadMe();
    route();
  });
  if (token()) saveToken(token());
  showTokenState();
  loadMe();
  document.getElementById('otp-request').addEventListener('click', requestOtp);
  document.getElementById('otp-form').addEventListener('submit', verifyOtp);
  window.addEventListener('hashchange', () => {
    flash(flashOnArrival.message, flashOnArrival.isError);
    flashOnArrival = { message: '', isError: false };
    route();
  });
  route();
});
