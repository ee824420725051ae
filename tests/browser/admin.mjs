// admin.mjs - a newsroom's day in the editor's pages (SPEC §14), in Debian's Chromium driven by
// playwright-core: the first admin from the setup link, a contributor's draft with a picture and
// a table, the publish a contributor may not do, an editor's preview, schedule, correction and
// restore, and signing out. On every admin page axe-core's rules run and the page is
// photographed at 1280 and 390 pixels. tests/http/test_admin_browser.py starts the server and
// runs this with one JSON argument; it prints one JSON line of what it saw and exits 0, or names
// the step that failed and exits 1.
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const arg = JSON.parse(process.argv[2]);
const BASE = arg.base;
const PASSWORD = 'correct horse battery';
const WIDTHS = [1280, 390];

// Collects every Content-Security-Policy violation of a document from its first line.
const WATCH_CSP = `window.__csp = [];
document.addEventListener('securitypolicyviolation', e =>
  window.__csp.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline')));`;

const seen = { pages: {}, steps: [], outside: [] };
let step = 'start';

function check(ok, what) {
  if (!ok) throw new Error(what);
}

function say(what) {
  step = what;
  seen.steps.push(what);
}

// "2026-12-02T19:04:05": a datetime-local value in the site's zone, at ms since the epoch.
function localTime(ms) {
  const f = new Intl.DateTimeFormat('sv-SE', {
    timeZone: arg.timezone, year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  });
  return f.format(new Date(ms)).replace(' ', 'T');
}

// The page as it stands: axe-core's violations, CSP violations and the server's time for the
// document, at each width, with a full-page screenshot at each.
async function audit(page, name) {
  check(!seen.pages[name], 'page name used twice: ' + name);
  const entry = { url: new URL(page.url()).pathname, violations: [], csp: [] };
  const nav = await page.evaluate(() => {
    const n = performance.getEntriesByType('navigation')[0];
    return n ? { ttfb: n.responseStart - n.requestStart, bytes: n.transferSize } : null;
  });
  if (nav) entry.ttfb_ms = Math.round(nav.ttfb * 100) / 100;
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    // page.evaluate runs in the page's world through DevTools: the page's script-src 'self'
    // does not apply to it, as it would to an injected <script>
    await page.evaluate(AXE);
    const result = await page.evaluate(() => axe.run(document, {
      resultTypes: ['violations'],
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
    }));
    for (const v of result.violations)
      entry.violations.push({
        width, id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary).slice(0, 5),
      });
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    if (wide > width) entry.violations.push({ width, id: 'horizontal-scroll', help: `${wide} px wide` });
    const file = `${arg.shots}/${name}-${width}.png`;
    await page.screenshot({ path: file, fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  entry.csp = await page.evaluate(() => window.__csp || []);
  seen.pages[name] = entry;
}

async function open(page, path, status = 200) {
  const r = await page.goto(BASE + path);
  check(r.status() === status, `GET ${path}: ${r.status()}, not ${status}`);
  return r;
}

// Submits the form whose button has that name and waits for the page it leads to.
async function submit(page, button, status = 200) {
  const [r] = await Promise.all([
    page.waitForNavigation(),
    page.getByRole('button', { name: button, exact: true }).click(),
  ]);
  if (!r || r.status() !== status)
    throw new Error(`"${button}" on ${page.url()}: ${r && r.status()}, not ${status}: ` +
      (await page.textContent('main').catch(() => '')).trim().slice(0, 300));
  return r;
}

// A fresh profile's context: its pages' CSP violations watched, and any request that would
// leave the server's address refused and remembered (the pages must need nothing else).
async function newContext(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addInitScript(WATCH_CSP);
  await context.route(url => !url.href.startsWith(BASE + '/'), route => {
    seen.outside.push(route.request().url());
    return route.abort();
  });
  return context;
}

async function signIn(browser, handle) {
  const context = await newContext(browser);
  const page = await context.newPage();
  await open(page, '/admin/stories'); // the login page, after a redirect
  check(new URL(page.url()).pathname === '/admin/login', 'signed out: ' + page.url());
  await page.fill('#handle', handle);
  await page.fill('#password', PASSWORD);
  await submit(page, 'Sign in');
  check(new URL(page.url()).pathname === '/admin/stories', 'signed in: ' + page.url());
  check((await page.textContent('.me')).includes(handle), 'the bar names ' + handle);
  return { context, page };
}

async function signOut(page) {
  await submit(page, 'Sign out');
  check(new URL(page.url()).pathname === '/admin/login', 'signed out: ' + page.url());
  await open(page, '/admin/stories');
  check(new URL(page.url()).pathname === '/admin/login', 'the session is over');
}

async function state(page, title) {
  await open(page, '/admin/stories');
  const row = page.locator('tr', { has: page.getByRole('link', { name: title, exact: true }) });
  check(await row.count() === 1, `one row for "${title}" in the list`);
  return (await row.locator('.state').textContent()).trim();
}

async function main() {
  mkdirSync(arg.shots, { recursive: true });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  seen.browser = browser.version();
  try {
    say('the first admin from the setup link');
    const ctx = await newContext(browser);
    let page = await ctx.newPage();
    await open(page, '/admin/');
    check(new URL(page.url()).pathname === '/admin/login', 'no account: the login page');
    check((await page.textContent('main')).includes('setup link'), 'it says where the link is');
    await audit(page, 'login-first');
    await open(page, '/admin/setup?code=' + arg.code);
    await audit(page, 'setup');
    await page.fill('#handle', 'chief');
    await page.fill('#name', 'The Chief');
    await page.fill('#password', PASSWORD);
    await page.fill('#password2', PASSWORD);
    await submit(page, 'Create the admin');
    check(new URL(page.url()).pathname === '/admin/stories', 'the admin is signed in');
    await audit(page, 'stories-empty');

    say('an editor and a contributor');
    for (const [handle, name, role] of [['desk', 'Dana Desk', 'editor'],
      ['reporter', 'Rita Reporter', 'contributor']]) {
      await open(page, '/admin/accounts');
      await page.fill('#handle', handle);
      await page.fill('#name', name);
      await page.selectOption('#role', role);
      await page.fill('#password', PASSWORD);
      await submit(page, 'Add the account');
      check(await page.getByRole('cell', { name, exact: true }).count() === 1, name + ' listed');
    }
    await audit(page, 'accounts');
    await open(page, '/admin/tokens');
    await page.fill('#handle', 'desk');
    await page.fill('#name', 'desk laptop');
    await submit(page, 'Make the token', 201); // shown once, on this answer
    check(/^gz_|[0-9a-f]{20,}/.test((await page.textContent('code.token')).trim()),
      'the new token is shown once');
    await audit(page, 'tokens');
    await open(page, '/admin/webhooks');
    await audit(page, 'webhooks');
    await open(page, '/admin/audit');
    check((await page.textContent('main')).includes('user.create'), 'the audit has the accounts');
    await audit(page, 'audit');
    await open(page, '/admin/password');
    await audit(page, 'password');
    await signOut(page);
    await ctx.close();

    say('the contributor writes a draft with a picture and a table');
    let { context, page: p } = await signIn(browser, 'reporter');
    page = p;
    await open(page, '/admin/new');
    await audit(page, 'editor-new');
    await page.fill('#title', arg.title);
    await page.fill('#summary', 'The port reopened at dawn after a week of repairs.');
    await page.fill('#body', 'The port reopened at dawn.\n\n| Berth | Ships |\n|---|---|\n' +
      '| North | 12 |\n| South | 7 |\n\nThe harbour master spoke to reporters.');
    await page.fill('#tags', 'Ports, 经济');
    await page.setInputFiles('#image', arg.image);
    await page.fill('#alt', 'Cranes over the harbour at dawn');
    await page.fill('#caption', 'The north berth at 6 a.m.');
    await page.fill('#credit', 'Rita Reporter');
    await submit(page, 'Save');
    const edit = new URL(page.url()).pathname;
    check(edit.startsWith('/admin/stories/'), 'saved: ' + page.url());
    seen.slug = edit.slice('/admin/stories/'.length);
    check(await page.locator('img.thumb').count() === 1, 'the picture is shown in the editor');
    check((await page.getAttribute('img.thumb', 'alt')) === 'Cranes over the harbour at dawn',
      'with its alt text');
    check(await state(page, arg.title) === 'draft', 'a draft');

    say('the contributor may not publish');
    await open(page, edit);
    await page.selectOption('#status', 'published');
    await submit(page, 'Save', 403);
    check((await page.textContent('.error')).length > 0, 'the page says why');
    await audit(page, 'editor-refused');
    check(await state(page, arg.title) === 'draft', 'still a draft');
    await signOut(page);
    await context.close();

    say('the editor previews and schedules it');
    ({ context, page } = await signIn(browser, 'desk'));
    await audit(page, 'stories');
    await page.getByRole('link', { name: arg.title, exact: true }).click();
    await page.waitForURL('**' + edit);
    await audit(page, 'editor');
    await submit(page, 'Preview');
    check(new URL(page.url()).pathname.startsWith('/preview/'), 'the signed preview link');
    check(await page.locator('.masthead').count() === 1, "the preview is the site's own page");
    check(await page.locator('article table').count() === 1, 'the table is drawn');
    check(await page.locator('article img').count() >= 1, 'and the picture');
    check(await page.evaluate(() => [...document.images].every(i => i.complete && i.naturalWidth > 0)),
      'every picture of the preview loads');
    await open(page, edit);
    const at = Date.now() + 5000;
    await page.selectOption('#status', 'published');
    await page.fill('#published_at', localTime(at));
    await submit(page, 'Save');
    check(await state(page, arg.title) === 'scheduled', 'scheduled');
    await open(page, '/');
    check(!(await page.content()).includes(arg.title), 'not on the front page before its time');

    say('it appears on the front page at its time');
    for (;;) {
      await page.waitForTimeout(250);
      await open(page, '/');
      if ((await page.content()).includes(arg.title)) break;
      check(Date.now() < at + 15000, 'on the front page within 15 s of its time');
    }
    seen.front_after_ms = Date.now() - at;
    await page.getByRole('link', { name: arg.title }).first().click();
    await page.waitForURL('**/articles/' + seen.slug);
    check(await page.locator('article img').count() >= 1, 'the story has its picture');

    say('a correction, under a new title');
    await open(page, edit);
    await page.fill('#title', arg.title + ' after repairs');
    await page.fill('#correction', 'An earlier version gave the wrong number of ships.');
    await submit(page, 'Save');
    await open(page, '/articles/' + seen.slug);
    check((await page.content()).includes('wrong number of ships'), 'the correction on the page');
    check((await page.content()).includes(arg.title + ' after repairs'), 'the new title');

    say('an earlier revision restored');
    await open(page, edit);
    await page.getByRole('link', { name: 'revisions', exact: true }).click();
    await page.waitForURL('**/revisions');
    await audit(page, 'revisions');
    await submit(page, 'Restore revision 2');
    check(new URL(page.url()).pathname === edit, 'back in the editor');
    check((await page.inputValue('#title')) === arg.title, 'the scheduled version is back');
    await open(page, '/articles/' + seen.slug);
    const restored = await page.content();
    check(restored.includes(arg.title) && !restored.includes(arg.title + ' after repairs'),
      'the page has the restored title');
    check(restored.includes('wrong number of ships'), 'a restore keeps the correction');

    say('an error page');
    await open(page, '/admin/stories/no-such-story', 404);
    await audit(page, 'not-found');
    say('signing out');
    await signOut(page);
    await audit(page, 'login');
    await context.close();
    check(seen.outside.length === 0, 'requests away from the server: ' + seen.outside.join(' '));
  } finally {
    await browser.close();
  }
}

main().then(() => {
  console.log(JSON.stringify(seen));
}, (e) => {
  console.log(JSON.stringify({ ...seen, failed: step, error: String(e && e.stack || e) }));
  process.exit(1);
});
