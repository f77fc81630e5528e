// The story of issue 5 in Debian's headless Chromium, one step after another: a resident
// files and tracks, an operator files for a caller, a council member sees it arrive live,
// merges the duplicate and dispatches, a handler resolves, the resident rates and the
// leader's dashboard counts it and exports. Every page visited is saved as a PNG.
//
//   BASE_URL=http://127.0.0.1:8080 SHOT_DIR=/tmp/shots node tests/browser/flows.mjs
//
// The server must have the demo accounts; `cargo nextest run -p gongzhi-system-tests
// browser` starts one and runs this script.

import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';

import { chromium } from 'playwright-core';

const BASE_URL = required('BASE_URL').replace(/\/+$/, '');
const SHOT_DIR = path.resolve(required('SHOT_DIR'));
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const WAIT_MS = 15_000;
const TOTAL_MS = 150_000;

const PASSWORD = 'gongzhi-demo';
const COMMUNITY = 'shilong';
const CATEGORY = 'noise';
const HANDLER_UNIT = 'shilong-workstation'; // the demo `handler` account's unit
const SCRIPT = '<script>alert(1)</script>';
const TITLE = `石龙路口工地夜间施工扰民 ${SCRIPT}`;
const DESCRIPTION = '石龙路口的工地每晚十一点以后还在施工，噪音很大，影响休息。';
const CALLER_DESCRIPTION = '来电反映：石龙路口工地晚上十一点以后仍在施工，噪音扰民，影响休息。';

const PHONE = {
  viewport: { width: 360, height: 740 },
  isMobile: true,
  hasTouch: true,
  deviceScaleFactor: 2,
};
const DESKTOP = { viewport: { width: 1280, height: 900 } };

const started = Date.now();
const problems = []; // alerts, script errors, requests off the server: checked after each step
const who = new WeakMap(); // page -> whose page, for messages and failure screenshots
let shots = 0;
let current = 'starting';

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`flows.mjs: set ${name}`);
    process.exit(2);
  }
  return value;
}

function log(message) {
  console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${message}`);
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

async function step(name, body) {
  current = name;
  log(`▶ ${name}`);
  await body();
  assert(problems.length === 0, problems.splice(0).join('\n'));
  log(`✓ ${name}`);
}

// --- browser plumbing ---------------------------------------------------------------------

async function newContext(browser, kind, name) {
  const context = await browser.newContext({
    ...(kind === 'phone' ? PHONE : DESKTOP),
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
    acceptDownloads: true,
  });
  context.setDefaultTimeout(WAIT_MS);
  context.setDefaultNavigationTimeout(WAIT_MS);
  const origin = new URL(BASE_URL).origin;
  context.on('request', (request) => {
    const url = new URL(request.url());
    if (/^(https?|wss?):$/.test(url.protocol) && url.origin !== origin) {
      problems.push(`${name}: a page asked for ${url.href}; nothing may load from the internet`);
    }
  });
  context.on('page', (page) => watch(page, name));
  return context;
}

function watch(page, name) {
  who.set(page, name);
  page.on('dialog', async (dialog) => {
    if (dialog.type() === 'confirm') {
      log(`  ${name}: confirming "${dialog.message()}"`);
      await dialog.accept().catch(() => {});
      return;
    }
    problems.push(
      `${name}: ${dialog.type()}("${dialog.message()}") ran on ${page.url()} — did typed text run as script?`,
    );
    await dialog.dismiss().catch(() => {});
  });
  page.on('pageerror', (error) => {
    problems.push(`${name}: script error on ${page.url()}: ${error.message}`);
  });
}

async function newPage(browser, kind, name) {
  const context = await newContext(browser, kind, name);
  return context.newPage();
}

async function shot(page, name, { check = true } = {}) {
  const file = `${String(++shots).padStart(2, '0')}-${name}.png`;
  await page.screenshot({ path: path.join(SHOT_DIR, file), fullPage: true });
  const url = new URL(page.url());
  log(`  📷 ${file}  ${url.pathname}${url.search}`);
  if (check) await checkPage(page);
}

// What every page owes its users: a label on each field and, on a phone, no sideways scroll.
async function checkPage(page) {
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll('input, select, textarea')]
      .filter((el) => !['hidden', 'submit', 'button', 'reset'].includes(el.type))
      .filter((el) => !el.labels?.length && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
      .map((el) => el.name || el.id || el.outerHTML.slice(0, 80)),
  );
  assert(unlabelled.length === 0, `${page.url()}: fields without a label: ${unlabelled.join(', ')}`);
  if (page.viewportSize()?.width === PHONE.viewport.width) {
    const { inner, scroll } = await page.evaluate(() => ({
      inner: window.innerWidth,
      scroll: document.documentElement.scrollWidth,
    }));
    assert(inner === PHONE.viewport.width, `${page.url()}: laid out ${inner} px wide on a 360 px phone (meta viewport?)`);
    assert(scroll <= inner, `${page.url()}: ${scroll} px wide, scrolls sideways on a 360 px phone`);
  }
}

async function goto(page, pathname) {
  const response = await page.goto(BASE_URL + pathname);
  assert(response?.ok(), `GET ${pathname} answered ${response?.status()}`);
}

// Follows a link or submits a form and waits for the page it leads to.
async function follow(page, clickable) {
  await Promise.all([page.waitForNavigation(), clickable.click()]);
}

async function submit(form) {
  await follow(form.page(), form.locator('button[type=submit]').first());
}

// Fills form fields by name, whatever kind of control each is.
async function fill(form, values) {
  for (const [name, value] of Object.entries(values)) {
    const field = form.locator(`[name="${name}"]:not([type=hidden])`).first();
    const kind = await field.evaluate((el) => (el.tagName === 'SELECT' ? 'select' : el.type));
    if (kind === 'select') await field.selectOption(String(value));
    else if (kind === 'radio') await form.locator(`[name="${name}"][value="${value}"]`).check();
    else if (kind === 'checkbox') await field.setChecked(Boolean(value));
    else await field.fill(String(value));
  }
}

async function noErrors(page, what) {
  const shown = (await page.locator('.error:visible, .field-error:visible').allInnerTexts())
    .map((text) => text.trim())
    .filter(Boolean);
  assert(shown.length === 0, `${what}: the page shows errors: ${shown.join(' | ')}`);
}

async function has(page, selector) {
  return (await page.locator(selector).count()) > 0;
}

// Views catch up with events a moment later: reopens `pathname` until `check` holds.
async function eventually(page, pathname, what, check) {
  const until = Date.now() + WAIT_MS;
  for (;;) {
    if (await check()) return;
    assert(Date.now() < until, `${what}: not seen on ${pathname} within ${WAIT_MS / 1000} s`);
    await page.waitForTimeout(250);
    await goto(page, pathname);
  }
}

async function status(page) {
  return page.locator('#case-status').getAttribute('data-status');
}

async function waitForStatus(page, pathname, expected) {
  await eventually(page, pathname, `status ${expected}`, () => has(page, `#case-status[data-status="${expected}"]`));
}

async function lang(page) {
  return page.locator('html').getAttribute('lang');
}

async function text(locator) {
  return (await locator.innerText()).trim();
}

async function login(page, username, landing, { screenshot = false } = {}) {
  await goto(page, '/login');
  if (screenshot) await shot(page, 'login');
  const form = page.locator('form#login');
  await fill(form, { username, password: PASSWORD });
  await submit(form);
  const at = new URL(page.url()).pathname;
  assert(at === landing, `${username} signed in and landed on ${at}, expected ${landing}`);
}

// A case action form (`form[data-action=...]`) on the case page, filled and submitted.
async function act(page, action, values, screenshot) {
  const form = page.locator(`form[data-action="${action}"]`).first();
  await fill(form, values);
  await submit(form);
  await noErrors(page, action);
  await shot(page, screenshot);
}

// Typed text shows as text: the literal tag is visible and no script element runs its body.
async function showsEscaped(page, typed) {
  assert(problems.length === 0, problems.splice(0).join('\n'));
  await page.getByText(typed).first().waitFor();
  const body = typed.replace(/<\/?script>/g, '');
  const injected = await page.evaluate((body) => [...document.scripts].some((s) => s.text.includes(body)), body);
  assert(!injected, `${page.url()}: "${typed}" became a script element`);
}

async function figure(page, name) {
  const element = page.locator(`#rates [data-figure="${name}"]`).first();
  const shown = (await element.getAttribute('data-value')) ?? (await element.innerText());
  const value = Number(/\d[\d,]*/.exec(shown)?.[0].replaceAll(',', ''));
  assert(Number.isFinite(value), `figure ${name} reads "${shown}", not a number`);
  return value;
}

async function download(page, selector, file) {
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator(selector).click()]);
  const saved = path.join(SHOT_DIR, file);
  await download.saveAs(saved);
  const bytes = await readFile(saved);
  log(`  ⤓ ${file} (${bytes.length} bytes, offered as ${download.suggestedFilename()})`);
  return bytes;
}

// --- the story ----------------------------------------------------------------------------

async function story(browser) {
  const visitor = await newPage(browser, 'desktop', 'visitor');
  await step('1. the start page, in Chinese and in English', async () => {
    await goto(visitor, '/');
    await shot(visitor, 'start');
    assert((await lang(visitor)) === 'zh-CN', `start page lang is ${await lang(visitor)}, expected zh-CN`);
    for (const href of ['/report', '/track', '/login']) {
      await visitor.locator(`a[href="${href}"]`).first().waitFor();
    }
    const accounts = await text(visitor.locator('table#demo-accounts'));
    for (const account of ['hotline', 'council', 'handler', 'handler2', 'leader', 'admin']) {
      assert(accounts.includes(account), `the demo-account table lacks ${account}`);
    }
    await follow(visitor, visitor.locator('a[data-lang="en"]').first());
    await shot(visitor, 'start-en');
    assert((await lang(visitor)) === 'en', `after switching, lang is ${await lang(visitor)}`);
    assert(new URL(visitor.url()).pathname === '/', `switching language left / for ${visitor.url()}`);
    await follow(visitor, visitor.locator('a[data-lang="zh"]').first());
    assert((await lang(visitor)) === 'zh-CN', `after switching back, lang is ${await lang(visitor)}`);
  });

  const leader = await newPage(browser, 'desktop', 'leader');
  let filedBefore;
  await step('2. the leader notes the filed figure before the story', async () => {
    await login(leader, 'leader', '/dashboard', { screenshot: true });
    await shot(leader, 'dashboard-before');
    filedBefore = await figure(leader, 'filed');
    log(`  filed: ${filedBefore}`);
  });

  const resident = await newPage(browser, 'phone', 'resident');
  let code;
  let secret;
  await step('3. a resident on a phone files a concern and tracks it', async () => {
    await goto(resident, '/report');
    await shot(resident, 'report-form');
    const form = resident.locator('form#report');
    await fill(form, {
      community: COMMUNITY,
      category: CATEGORY,
      title: '',
      description: DESCRIPTION,
      address: '石龙社区石龙路与宝石路交叉口',
      name: `王女士 ${SCRIPT.replace('1', '2')}`,
      phone: '13812345678',
      anonymous: false,
      confidential: false,
    });
    // Past the browser's own `required` check, to the server's.
    await form.evaluate((element) => {
      element.noValidate = true;
    });
    await submit(form);
    await shot(resident, 'report-title-missing');
    await form.locator('[data-field="title"] .field-error').waitFor();
    for (const [name, typed] of [['description', DESCRIPTION], ['category', CATEGORY]]) {
      const kept = await form.locator(`[name="${name}"]`).inputValue();
      assert(kept === typed, `the ${name} chosen or typed was not kept: "${kept}"`);
    }

    await fill(form, { title: TITLE });
    await submit(form);
    await noErrors(resident, 'filing');
    code = await text(resident.locator('#tracking-code'));
    secret = await text(resident.locator('#tracking-secret'));
    await shot(resident, 'receipt');
    assert(code && secret, `the receipt shows code "${code}" and secret "${secret}"`);
    await showsEscaped(resident, SCRIPT);
    log(`  tracking code ${code}`);
    const track = resident.locator('a#track-link');
    assert((await track.getAttribute('href')).includes(code), 'the track link lacks the code');

    await follow(resident, track);
    await waitForStatus(resident, `/track?code=${encodeURIComponent(code)}`, 'filed');
    await shot(resident, 'track-filed');
  });

  const council = await newPage(browser, 'desktop', 'council');
  await step('4. a council member opens the queue', async () => {
    await login(council, 'council', '/queue');
    await eventually(council, '/queue', `${code} in the queue`, () =>
      has(council, `table#queue tbody tr[data-code="${code}"]`),
    );
    await shot(council, 'queue');
    await council.evaluate(() => {
      window.stillTheSamePage = true;
    });
  });

  const operator = await newPage(browser, 'desktop', 'operator');
  let duplicate;
  await step('5. an operator files for a caller, the same matter', async () => {
    await login(operator, 'hotline', '/operator');
    await shot(operator, 'operator');
    const form = operator.locator('form#quick-file');
    await fill(form, {
      phone: '13987654321',
      community: COMMUNITY,
      category: CATEGORY,
      description: CALLER_DESCRIPTION,
    });
    await submit(form);
    await noErrors(operator, 'quick filing');
    duplicate = await text(operator.locator('.notice #tracking-code'));
    await shot(operator, 'operator-filed');
    log(`  tracking code ${duplicate}`);
  });

  let residentCase;
  let duplicateCase;
  await step('6. the council member sees it arrive, merges it and dispatches', async () => {
    const row = (c) => council.locator(`table#queue tbody tr[data-code="${c}"]`);
    await row(duplicate).waitFor();
    assert(
      await council.evaluate(() => window.stillTheSamePage === true),
      'the queue page reloaded; new concerns should arrive by server-sent events',
    );
    await shot(council, 'queue-live');
    residentCase = await row(code).locator('a.case-link').first().getAttribute('href');
    duplicateCase = await row(duplicate).locator('a.case-link').first().getAttribute('href');

    await follow(council, row(duplicate).locator('a.case-link').first());
    await eventually(council, duplicateCase, `${code} among the likely duplicates`, () =>
      has(council, `ul#duplicates li[data-code="${code}"]`),
    );
    await shot(council, 'case-duplicate');
    await submit(council.locator(`ul#duplicates li[data-code="${code}"] form[data-action="merge"]`));
    await noErrors(council, 'merge');
    await shot(council, 'case-merged');
    await waitForStatus(council, duplicateCase, 'merged');

    await goto(council, residentCase);
    await shot(council, 'case');
    await showsEscaped(council, SCRIPT);
    if (await has(council, 'form[data-action="triage"]')) {
      await act(council, 'triage', { category: CATEGORY, priority: 'normal' }, 'case-triaged');
      await eventually(council, residentCase, 'the dispatch form', () =>
        has(council, 'form[data-action="dispatch"]'),
      );
    }
    await act(council, 'dispatch', { unit: HANDLER_UNIT, note: '请尽快联系诉求人核实' }, 'case-dispatched');
    await waitForStatus(council, residentCase, 'dispatched');
  });

  const handler = await newPage(browser, 'desktop', 'handler');
  await step('7. the handler accepts, contacts the resident and resolves', async () => {
    await login(handler, 'handler', '/inbox');
    const row = handler.locator(`table#inbox tr[data-code="${code}"]`);
    await eventually(handler, '/inbox', `${code} in the inbox`, async () => (await row.count()) > 0);
    await shot(handler, 'inbox');
    await follow(handler, row.locator('a[href^="/cases/"]').first());
    await shot(handler, 'handler-case');
    await act(handler, 'accept', {}, 'handler-accepted');
    await eventually(handler, residentCase, 'the contact form', () => has(handler, 'form[data-action="contact"]'));
    await act(handler, 'contact', { via: 'phone', note: '已电话联系王女士，约定明晚现场核查' }, 'handler-contacted');
    await eventually(handler, residentCase, 'the resolve form', () => has(handler, 'form[data-action="resolve"]'));
    await act(
      handler,
      'resolve',
      { outcome: 'resolved', summary: '已责令工地晚上十点后停止施工，并安排夜间巡查。' },
      'handler-resolved',
    );
    await waitForStatus(handler, residentCase, 'resolved');

    await submit(handler.locator('form#logout'));
    const response = await handler.goto(`${BASE_URL}/inbox`);
    const signedOut = !(await has(handler, 'table#inbox'));
    assert(signedOut, `after logging out, /inbox still shows the inbox (${response?.status()})`);
  });

  await step('8. the resident sees it resolved and rates it', async () => {
    const track = `/track?code=${encodeURIComponent(code)}`;
    await waitForStatus(resident, track, 'resolved');
    await resident.locator('ol#timeline li').first().waitFor();
    await shot(resident, 'track-resolved');
    const steps = await resident.locator('ol#timeline li').count();
    const form = resident.locator('form#rate');
    await fill(form, { secret, satisfaction: 'satisfied', resolved: 'true', comment: '处理及时，谢谢！' });
    await submit(form);
    await noErrors(resident, 'rating');
    await resident.locator('.notice').first().waitFor();
    await shot(resident, 'track-rated');
    await eventually(resident, track, 'the rating in the timeline', async () =>
      (await resident.locator('ol#timeline li').count()) > steps,
    );
  });

  await step('9. the leader sees it in the figures and exports them', async () => {
    await eventually(leader, '/dashboard', `the filed figure above ${filedBefore}`, async () =>
      (await figure(leader, 'filed')) > filedBefore,
    );
    await leader.locator('#rates [data-figure="response_rate"]').first().waitFor();
    await leader.locator('figure.chart svg').first().waitFor();
    await leader.locator('table#by-community').waitFor({ state: 'attached' });
    await leader.locator('table#by-unit').waitFor({ state: 'attached' });
    await shot(leader, 'dashboard');
    log(`  filed: ${await figure(leader, 'filed')} (was ${filedBefore})`);

    const csv = (await download(leader, 'a#export-csv', 'dashboard.csv')).toString('utf8');
    const lines = csv.replace(/^\uFEFF/, '').split(/\r?\n/);
    // A caption line (the period) may come first; a header with columns must follow soon.
    assert(lines.slice(0, 5).some((line) => line.includes(',')), `the CSV export has no header line: "${lines[0]}"`);
    const xlsx = await download(leader, 'a#export-xlsx', 'dashboard.xlsx');
    assert(xlsx.subarray(0, 2).toString('latin1') === 'PK', 'the XLSX export is not a zip file');
  });
}

// --- run ----------------------------------------------------------------------------------

const watchdog = setTimeout(() => {
  console.error(`✗ gave up after ${TOTAL_MS / 1000} s in: ${current}`);
  process.exit(1);
}, TOTAL_MS);

let browser;
try {
  await mkdir(SHOT_DIR, { recursive: true });
  // playwright-core starts it with a fresh temporary profile and removes it on close.
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: WAIT_MS,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  log(`Chromium ${browser.version()} (${CHROMIUM}) against ${BASE_URL}; screenshots in ${SHOT_DIR}`);
  await story(browser);
  log('all flows passed');
} catch (error) {
  process.exitCode = 1;
  console.error(`\n✗ ${current}\n${String(error.stack ?? error).replace(/\x1b\[[0-9;]*m/g, '')}\n`);
  // An alert or a script error usually explains the timeout that followed it.
  if (problems.length) console.error(`Also seen during that step:\n${problems.join('\n')}\n`);
  for (const page of browser?.contexts().flatMap((context) => context.pages()) ?? []) {
    try {
      await shot(page, `FAILED-${who.get(page) ?? 'page'}`, { check: false });
    } catch {
      // The failure itself matters; a page that cannot be photographed adds nothing.
    }
  }
} finally {
  await browser?.close().catch(() => {});
  clearTimeout(watchdog);
}
