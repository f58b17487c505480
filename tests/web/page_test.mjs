// The search page in a real headless Chromium, against a running node
// (tests/integration/web.sh sets it up): search, a facet filter whose
// count must match, a file downloaded from a result and offered in the
// opened result, a result's rating and downloads, a result opened, the language switch, paging, the
// licence linked to its canonical URL, the education system selector
// (levels shown in the chosen system beside the origin's term, in the
// results and in the opened result, the choice kept in the URL), and a hostile title that must show as text
// without running anything.
//
//   node page_test.mjs BASEURL [SCREENSHOT.png [peer]]
import { chromium } from 'playwright-core';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const base = process.argv[2];
const shot = process.argv[3] || join(tmpdir(), 'oernode-web.png');
const HOSTILE = 'Breuken <script>alert(1)</script> ' +
  '<img src=x onerror=window.__pwned=1>';
const SHEET = 'vergelijk breuken.txt'; /* web.sh's file and its bytes */
const SHEET_TEXT = '1/2 is groter dan 1/3\n';

function check(ok, what) {
  if (!ok) throw new Error('FAIL: ' + what);
  console.log('ok - ' + what);
}

async function total(page) {
  return Number(await page.locator('#status').getAttribute('data-total'));
}

// Wait until the results show want hits in all.
async function waitTotal(page, want) {
  await page.waitForFunction(n => {
    const s = document.getElementById('status');
    return s.dataset.total === String(n) &&
      document.querySelectorAll('#hits > li').length === Math.min(n, 20);
  }, want);
}

// The system selector: a Flemish level shown as is, then in the Dutch
// system with the Flemish term beside it; the choice in the URL and kept
// on reload, and followed by the opened result; back to each origin's
// terms.
async function systemSelector(page) {
  await page.fill('#q', 'fractions');
  await page.press('#q', 'Enter');
  await waitTotal(page, 1);
  const level = page.locator('#hits > li .level');
  check((await level.textContent()) === 'Level: primary education, year 5',
        'a Flemish level shows as the origin\'s term');
  await page.selectOption('#system', 'nl');
  await page.waitForFunction(() => document.querySelector('#hits .level')
    ?.textContent.includes('group 7'));
  check((await level.textContent()) ===
          'Level: primary school, group 7 (primary education, year 5)',
        'with system nl, the Dutch term and the Flemish one beside it');
  check(page.url().includes('system=nl'), 'the system is in the URL');
  await page.reload();
  await waitTotal(page, 1);
  await page.waitForFunction(() => document.querySelector('#hits .level')
    ?.textContent.includes('group 7'));
  check(await page.inputValue('#system') === 'nl',
        'the system is kept on reload');
  await page.locator('#hits > li .title a').click();
  const levels = page.locator('#detail dd', { hasText: 'group 7' });
  await levels.waitFor();
  check(await levels.textContent() ===
          'primary school, group 7 (primary education, year 5)',
        'the opened result shows its level in the chosen system too');
  await page.click('#back');
  await waitTotal(page, 1);
  await page.selectOption('#system', '');
  await page.waitForFunction(() => !document.querySelector('#hits .level')
    ?.textContent.includes('group 7'));
  check(!page.url().includes('system='), 'no system: none in the URL');
}

// A result with a file: downloaded from the results with its name and
// bytes, and linked from the opened result; then back to the results.
async function download(page, count) {
  const sheet = page.locator('#hits > li', { hasText: 'Welke is groter?' });
  const link = sheet.locator('a.download');
  await link.waitFor();
  check(await link.textContent() === 'Download ' + SHEET,
        'a result with a file offers it for download');
  check(await sheet.locator('.rating').textContent() ===
          'Rating: 4.0 of 5 (1 rating)', 'its rating is shown');
  check(await sheet.locator('.downloads').textContent() === 'Downloads: 0',
        'its downloads are shown');
  const [file] = await Promise.all([page.waitForEvent('download'),
                                    link.click()]);
  check(file.suggestedFilename() === SHEET,
        'the download keeps the file\'s name');
  check(readFileSync(await file.path(), 'utf8') === SHEET_TEXT,
        'the downloaded bytes are the file\'s');
  const answer = await page.request.get(file.url());
  check(answer.headers()['content-type'].startsWith('text/plain'),
        'the file comes with its media type');
  check(await page.locator('#hits > li', { hasText: 'Oefenen met breuken' })
          .locator('a.download').count() === 0,
        'a result without files offers no download');

  await sheet.locator('.title a').click();
  const inDetail = page.locator('#detail a.download');
  await inDetail.waitFor();
  check(await inDetail.textContent() === SHEET &&
          (await inDetail.getAttribute('href')).endsWith(
            '/files/' + encodeURIComponent(SHEET)),
        'the opened result links its file');
  check(await page.locator('#detail dd', { hasText: '4.0 of 5' }).count() === 1,
        'the opened result shows its rating');
  await page.click('#back');
  await waitTotal(page, count);
  /* the results drawn again: the browser's download and the media type
   * check counted */
  await page.waitForFunction(() => [...document.querySelectorAll('#hits > li')]
    .some(li => li.textContent.includes('Welke is groter?') &&
                li.querySelector('.downloads')?.textContent !==
                  'Downloads: 0'));
  check(await sheet.locator('.downloads').textContent() === 'Downloads: 2',
        'the downloads count the file\'s two downloads');
}

async function run(page, events) {
  await page.goto(base + '/');
  await waitTotal(page, 26);
  check(await page.locator('html').getAttribute('lang') === 'en',
        'the interface starts in the browser\'s language (en)');
  check(await page.locator('#pager').isVisible(), 'pager shown for 26 hits');
  await page.click('#next');
  await page.waitForFunction(() =>
    document.querySelectorAll('#hits > li').length === 6);
  check((await page.textContent('#page')) === 'page 2 of 2',
        'second page holds the last 6 of 26');
  await systemSelector(page);

  await page.fill('#q', 'breuken');
  await page.press('#q', 'Enter');
  await waitTotal(page, 3);
  check(await total(page) === 3, 'search "breuken" finds 3');
  const facet = page.locator(
    '.facet[data-facet="level"] .facet-value[data-value="primair"]');
  const count = Number(await facet.getAttribute('data-count'));
  check(count === 2, 'facet level=primair counts 2');
  await facet.locator('input').check();
  await waitTotal(page, count);
  check(await total(page) === count,
        'filtering by level=primair leaves as many hits as its count');
  check(page.url().includes('level=primair'), 'the filter is in the URL');

  await download(page, count);

  const hit = page.locator('#hits > li', { hasText: 'Oefenen met breuken' });
  await hit.waitFor();
  const title = await hit.locator('.title a').textContent();
  check(title === HOSTILE, 'the hostile title shows literally as text');
  check(await page.locator('#hits script, #hits img').count() === 0,
        'no element came out of the title');
  const subject = page.locator('.facet[data-facet="subject"] .value',
                               { hasText: 'rekenen</i>' });
  check(await subject.textContent() === '<i>rekenen</i>' &&
        await page.locator('#facet-list i').count() === 0,
        'a hostile facet value shows literally as text');
  await hit.locator('a[href="https://example.org/breuken"]').waitFor();
  check(await hit.locator('.licence').textContent() === 'Licence: CC-BY-4.0',
        'licence shown by its id');
  check(await hit.locator('.licence a').getAttribute('href') ===
          'https://creativecommons.org/licenses/by/4.0/',
        'the licence links to its canonical URL');
  check((await hit.locator('.origin').textContent()).endsWith('nl-test'),
        'origin shown');
  check((await hit.locator('.level').textContent()).includes('primair'),
        'level shown');

  await hit.locator('.title a').click();
  await page.locator('#detail').waitFor();
  await page.waitForFunction(t =>
    document.getElementById('detail-title').textContent === t, HOSTILE);
  check(await page.locator('#detail dd', { hasText: 'nl-test/' }).count() > 0,
        'the opened result shows its id');
  check(await page.locator('#detail a[href="https://example.org/breuken"]')
          .count() === 1, 'the opened result links to its source URL');
  check(await page.locator('#detail a[href="https://creativecommons.org/' +
                           'licenses/by/4.0/"]').count() === 1,
        'the opened result links its licence text');

  await page.click('button[data-lang="nl"]');
  check(await page.textContent('#back') === 'Terug naar de resultaten',
        'the language switch translates the interface');
  check(await page.locator('html').getAttribute('lang') === 'nl',
        'html lang follows the switch');
  await page.click('#back');
  await page.waitForFunction(n =>
    document.getElementById('status').textContent === n + ' resultaten',
    count);
  await waitTotal(page, count);
  check(await page.locator('#detail').isHidden(), 'back to the results');
  check((await page.textContent('#status')) === count + ' resultaten',
        'results are counted in Dutch');
  await page.waitForFunction(() =>
    document.querySelectorAll('#hits .description:not(:empty)').length >= 1);
  await page.screenshot({ path: shot, fullPage: true });
  console.log('screenshot: ' + shot);

  check(events.dialogs === 0, 'no dialog opened');
  check(await page.evaluate(() => window.__pwned === undefined &&
                                  window.__alerts === 0),
        'no script from the metadata ran');
  check(events.imageX === 0, 'the hostile <img> was never requested');
  check(events.errors.length === 0,
        'no script error on the page: ' + events.errors.join('; '));
}

// A hit only a peer holds (federated search; web.sh peers the node with
// one that holds "Breuken op afstand <b>vet</b>"): shown as text, with the
// peer it came through, and counted apart from this node's results.
async function runPeer(page, events) {
  // A peer answers within the search's wait (300 ms): on a busy machine
  // it may miss one, so the search is made again, up to five times.
  const hit = page.locator('#hits > li.remote');
  for (let i = 0; i < 5; i++) {
    await page.goto(i === 0 ? base + '/#q=afstand' : base + '/?again=' + i +
                    '#q=afstand');
    try {
      await hit.waitFor({ timeout: 3000 });
      break;
    } catch (e) {
      if (i === 4) throw e;
    }
  }
  check(await hit.locator('.title').textContent() ===
          'Breuken op afstand <b>vet</b>',
        'a peer\'s title shows literally as text');
  check(await page.locator('#hits b, #hits .title a').count() === 0,
        'no element or link came out of a peer\'s hit');
  check((await hit.locator('.via').textContent()).endsWith('pb'),
        'the peer it came through is named');
  check((await hit.locator('.origin').textContent()).endsWith('pb'),
        'its origin is named');
  check(await page.textContent('#status') === '1 result from peers',
        'counted apart from this node\'s results');
  check(events.errors.length === 0,
        'no script error on the page: ' + events.errors.join('; '));
}

async function main() {
  if (!base) {
    console.error('usage: node page_test.mjs BASEURL [SCREENSHOT [peer]]');
    process.exit(2);
  }
  const profile = mkdtempSync(join(tmpdir(), 'oernode-chromium-'));
  const events = { dialogs: 0, imageX: 0, errors: [] };
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    locale: 'en-US',
    viewport: { width: 1100, height: 800 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
           '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
  });
  let code = 0;
  try {
    await context.addInitScript(() => {
      window.__alerts = 0;
      window.alert = () => { window.__alerts++; };
    });
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(10000);
    page.on('dialog', d => { events.dialogs++; d.dismiss(); });
    page.on('pageerror', e => events.errors.push(String(e)));
    page.on('request', r => {
      if (new URL(r.url()).pathname === '/x') events.imageX++;
    });
    if (process.argv[4] === 'peer')
      await runPeer(page, events);
    else
      await run(page, events);
    console.log('all checks passed');
  } catch (e) {
    console.error(e.message || e);
    code = 1;
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
  process.exit(code);
}

main();
