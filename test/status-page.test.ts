/**
 * The status page in a real browser: Debian's Chromium driven by playwright-core. The page loads
 * with no console error and no failed request; a bot instance stopped turns its row "down"; with
 * ADMIN_TOKEN a wrong token is refused and the right one shows the look-up and the dead letters,
 * whose Replay delivers them. A screenshot of each page is saved in the test's temporary folder
 * (UPDATE_SCREENSHOT=1 also writes docs/status-page.png, the README's picture).
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { parseConfig, type Env } from '../src/config/config';
import { startService, type Service } from '../src/service';
import { rendezvousOrder } from '../src/affinity/hash';
import { PoolMember } from '../src/upstream/pool';
import { Bot } from './helpers/bot';
import { request, webhook } from './helpers/http';
import { freePort } from './helpers/net';
import { waitFor } from './helpers/wait';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = mkdtempSync(join(tmpdir(), 'webhook-affinity-status-page-'));

function browserSkipReason(): string | false {
  if (existsSync(CHROMIUM)) return false;
  if (process.env.REQUIRE_BROWSER === '1') throw new Error(`REQUIRE_BROWSER=1 but ${CHROMIUM} is missing (apt-get install chromium)`);
  return `${CHROMIUM} is missing (apt-get install chromium); set REQUIRE_BROWSER=1 to make this a failure`;
}

interface Running {
  readonly service: Service;
  readonly admin: number;
  close(): Promise<void>;
}

async function startProxyWithAdmin(env: Env): Promise<Running> {
  const admin = await freePort();
  const service = await startService(parseConfig({ PORT: '0', HOST: '127.0.0.1', ADMIN_PORT: String(admin), ...env }), { admin: true });
  return { service, admin, close: () => service.close() };
}

/** A page that records console errors and failed requests. */
async function open(browser: Browser, admin: number): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  await page.goto(`http://127.0.0.1:${admin}/`);
  return { page, problems };
}

async function screenshot(t: TestContext, page: Page, name: string): Promise<string> {
  const path = join(SHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  t.diagnostic(`screenshot: ${path}`);
  return path;
}

describe('status page in Chromium', { skip: browserSkipReason() }, () => {
  let browser: Browser;
  before(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });
  after(() => browser?.close());

  it('loads with no console error and no failed request, and turns a stopped instance down', async (t) => {
    const bots = [await new Bot().start(), await new Bot().start()];
    const proxy = await startProxyWithAdmin({
      AFFINITY_MODE: 'hash',
      UPSTREAMS: bots.map((b) => b.url).join(','),
      HEALTH_CHECK_PATH: '/health',
      HEALTH_CHECK_INTERVAL_MS: '200',
      HEALTH_CHECK_FALL: '1',
    });
    try {
      for (const actor of ['alice', 'bob', 'carol']) assert.equal((await request(proxy.service.address.port, { body: webhook(actor) })).status, 200);
      const { page, problems } = await open(browser, proxy.admin);
      await page.getByText('hash mode').first().waitFor();
      const rowOf = (bot: Bot) => page.locator('#upstreams-body tr', { hasText: `${bot.url}/` });
      await rowOf(bots[1]!).getByText('up', { exact: true }).waitFor();
      await page.locator('#verdict.verdict-healthy', { hasText: 'Healthy' }).waitFor();
      assert.equal(await page.locator('#verdict-reasons li').count(), 0, 'healthy: no reason listed');
      await page.getByText(/requests\/s over the last/).waitFor();
      // The chart's axes carry values and units: its top is the peak rounded up (1, 2 or 5 × 10ⁿ).
      await page.locator('#chart-top', { hasText: /^peak [\d.]+ requests\/s$/ }).waitFor();
      const peak = Number(/peak ([\d.]+)/.exec((await page.locator('#chart-top').textContent()) ?? '')?.[1]);
      const yTop = (await page.locator('#chart-y-top').textContent()) ?? '';
      assert.match(yTop, /^[125]0* req\/s$/);
      assert.ok(Number.parseFloat(yTop) >= peak, `${yTop} is at least the peak ${peak}`);
      for (const label of ['0 req/s', '5 min ago', 'now']) assert.equal(await page.getByText(label, { exact: true }).count(), 1, label);
      // Each instance's answers per second (the three webhooks went to them) and failures (none).
      const perInstance = async () =>
        Promise.all(bots.map(async (bot) => ({ rate: Number(await rowOf(bot).locator('td').nth(3).textContent()), failures: await rowOf(bot).locator('td').nth(4).textContent() })));
      await waitFor(async () => ((await perInstance()).reduce((sum, i) => sum + i.rate, 0) > 0 ? true : undefined), 'answers per second per instance');
      assert.deepEqual(
        (await perInstance()).map((i) => i.failures),
        ['0', '0'],
      );
      await screenshot(t, page, 'hash-mode');
      assert.deepEqual(problems, []);
      assert.equal(await page.locator('#lookup-section').isHidden(), true, 'no look-up without ADMIN_TOKEN');
      assert.equal(await page.locator('#no-token-note').isVisible(), true);

      await bots[1]!.stop();
      await rowOf(bots[1]!).getByText('down', { exact: true }).waitFor({ timeout: 5000 });
      // The verdict says it in words, with the reason.
      await page.locator('#verdict.verdict-degraded', { hasText: 'Degraded' }).waitFor();
      // With why: the last probe's error (refused once it is gone; reset if it went while one was on its way).
      await page.locator('#verdict-reasons li', { hasText: new RegExp(`instance ${bots[1]!.url}/ is down \\(health check failed: E[A-Z]+\\)`) }).waitFor();
      await rowOf(bots[1]!)
        .getByText(/health check failed: E[A-Z]+/)
        .waitFor();
      assert.equal(await rowOf(bots[0]!).getByText('up', { exact: true }).count(), 1, 'the other one stays up');
      await screenshot(t, page, 'instance-down');
      assert.deepEqual(problems, [], 'no console error or failed request while it refreshed');

      // On a phone (375 px): the page does not scroll sideways, and no column heading is broken mid-word.
      await page.setViewportSize({ width: 375, height: 800 });
      await page.locator('#verdict.verdict-degraded').waitFor();
      // Run in the page (a string: the tests are compiled without the DOM's types).
      const layout = (await page.evaluate(`({
        pageWidth: document.documentElement.scrollWidth,
        brokenHeadings: [...document.querySelectorAll('th')]
          .filter((th) => th.offsetParent !== null)
          .filter((th) => {
            const range = document.createRange();
            range.selectNodeContents(th);
            return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size > 1;
          })
          .map((th) => th.textContent),
      })`)) as { pageWidth: number; brokenHeadings: string[] };
      assert.ok(layout.pageWidth <= 375, `the page is ${layout.pageWidth} px wide at 375`);
      assert.deepEqual(layout.brokenHeadings, [], 'column headings on one line');
      await screenshot(t, page, 'instance-down-375');
      await page.close();
    } finally {
      await proxy.close();
      for (const b of bots) await b.stop();
    }
  });

  it('with ADMIN_TOKEN: refuses a wrong token, then looks up a key and replays a dead letter', async (t) => {
    const bots = [await new Bot().start(), await new Bot().start()];
    let failing = true;
    for (const bot of bots) bot.answer = (_d, res) => (failing ? res.writeHead(500).end('no') : res.end('ok'));
    const upstreams = bots.map((b) => b.url);
    const proxy = await startProxyWithAdmin({
      AFFINITY_MODE: 'hash',
      UPSTREAMS: upstreams.join(','),
      DELIVERY: 'queued',
      QUEUE_MAX_AGE_MS: '300',
      QUEUE_RETRY_MIN_MS: '50',
      QUEUE_RETRY_MAX_MS: '100',
      ADMIN_TOKEN: 'the-right-token',
    });
    try {
      const { queued } = (await request(proxy.service.address.port, { body: webhook('alice') })).json() as { queued: string };
      const { page, problems } = await open(browser, proxy.admin);
      await page.locator('#token-section').waitFor();
      assert.equal(await page.locator('#lookup-section').isHidden(), true, 'nothing private before the token');
      assert.deepEqual(problems, [], 'the page asked for nothing it may not have');

      await page.fill('#token', 'a-wrong-token');
      await page.click('#token-form button');
      await page.getByText('Wrong token: the proxy answered 401.').waitFor();
      assert.equal(await page.locator('#lookup-section').isHidden(), true);

      await page.fill('#token', 'the-right-token');
      await page.click('#token-form button');
      await page.getByText('Token accepted.').waitFor();

      // Look-up: alice's instance is the first of her rendezvous order.
      const expected = rendezvousOrder(
        'alice',
        upstreams.map((u) => new PoolMember(new URL(u))),
      )[0]!.id;
      await page.fill('#key', 'alice');
      await page.click('#lookup-form button');
      await page.locator('#lookup-result dd', { hasText: expected }).waitFor();

      // The webhook the bot refused became a dead letter: replayed once the bot takes it.
      const deadRow = page.locator(`#dead-body tr[data-id="${queued}"]`);
      await deadRow.waitFor({ timeout: 10_000 });
      // Queued mode in words: the bot refused its deliveries, they were retried, then given up on.
      await page
        .locator('#deliveries', {
          hasText: /Mailbox: [\d.]+ deliveries\/s taken by the bot .* [1-9]\d* attempt\(s\) not taken \(to be retried\), 1 given up on \(dead letters\); delivery time p50 [\d.]+ ms, p99 [\d.]+ ms/,
        })
        .waitFor({ timeout: 10_000 });
      await page.locator('#verdict.verdict-degraded').waitFor();
      await page.locator('#verdict-reasons li', { hasText: 'not taken by the bot (to be retried)' }).waitFor();
      await page.locator('#verdict-reasons li', { hasText: '1 dead letter(s) waiting' }).waitFor();
      await screenshot(t, page, 'dead-letter');
      failing = false;
      const before = bots.flatMap((b) => b.deliveries).filter((d) => d.id === queued).length;
      await deadRow.getByRole('button', { name: 'Replay' }).click();
      await deadRow.waitFor({ state: 'detached', timeout: 10_000 });
      const deliveries = bots.flatMap((b) => b.deliveries).filter((d) => d.id === queued);
      assert.ok(deliveries.length > before, 'the replayed letter reached the bot');

      // The last minute's outcomes: alice's webhook before the page opened (the listener keeps
      // the history) and 24 more while it watches.
      for (let i = 0; i < 24; i++) await request(proxy.service.address.port, { body: webhook(`actor-${i % 6}`) });
      await page.locator('#outcomes-body tr', { hasText: 'queued' }).getByText('25', { exact: true }).waitFor({ timeout: 10_000 });
      const shot = await screenshot(t, page, 'token');
      if (process.env.UPDATE_SCREENSHOT === '1') {
        const docs = join(__dirname, '..', '..', 'docs');
        mkdirSync(docs, { recursive: true });
        copyFileSync(shot, join(docs, 'status-page.png'));
      }
      await page.close();
    } finally {
      await proxy.close();
      for (const b of bots) await b.stop();
    }
  });

  it('dead letters a page at a time (50), with Replay all and Delete all behind a confirmation', async (t) => {
    const bot = await new Bot().start();
    let failing = true;
    bot.answer = (_d, res) => (failing ? res.writeHead(500).end('no') : res.end('ok'));
    const proxy = await startProxyWithAdmin({
      TARGET_URL: bot.url,
      DELIVERY: 'queued',
      QUEUE_MAX_AGE_MS: '200',
      QUEUE_RETRY_MIN_MS: '50',
      QUEUE_RETRY_MAX_MS: '100',
      ADMIN_TOKEN: 'the-right-token',
    });
    const deadCount = async () => (await proxy.service.proxy.mailbox?.deadLetters())?.length ?? 0;
    try {
      for (let i = 0; i < 60; i++) assert.equal((await request(proxy.service.address.port, { body: webhook(`person-${i}`) })).status, 200);
      await waitFor(async () => (await deadCount()) === 60 || undefined, '60 dead letters', { ms: 20_000 });
      const { page, problems } = await open(browser, proxy.admin);
      await page.fill('#token', 'the-right-token');
      await page.click('#token-form button');
      await page.locator('#dead-range', { hasText: '1–50 of 60' }).waitFor();
      assert.equal(await page.locator('#dead-body tr').count(), 50);
      assert.equal(await page.locator('#dead-prev').isDisabled(), true);
      await page.click('#dead-next');
      await page.locator('#dead-range', { hasText: '51–60 of 60' }).waitFor();
      assert.equal(await page.locator('#dead-body tr').count(), 10);
      assert.equal(await page.locator('#dead-next').isDisabled(), true);
      await screenshot(t, page, 'dead-letters-page-2');

      // Replay all: asked first; declined, nothing moves; accepted, every one goes back to the mailbox.
      failing = false;
      const before = bot.deliveries.length;
      page.once('dialog', (dialog) => void dialog.dismiss());
      await page.click('#replay-all');
      assert.equal(await deadCount(), 60, 'declined: nothing replayed');
      page.once('dialog', (dialog) => {
        assert.match(dialog.message(), /Send every dead letter to the mailbox again \(60\)/);
        void dialog.accept();
      });
      await page.click('#replay-all');
      await page.getByText('60 sent to the mailbox again.').waitFor();
      await waitFor(() => new Set(bot.deliveries.slice(before).map((d) => d.id)).size === 60 || undefined, 'all 60 delivered again', { ms: 20_000 });
      await page.locator('#dead-range', { hasText: 'no dead letters' }).waitFor();

      // Delete all, after three more die.
      failing = true;
      for (let i = 0; i < 3; i++) await request(proxy.service.address.port, { body: webhook(`late-${i}`) });
      await waitFor(async () => (await deadCount()) === 3 || undefined, '3 dead letters', { ms: 20_000 }).catch(async (err: unknown) => {
        throw new Error(`${String(err)}: ${await deadCount()} dead, deliveries ${JSON.stringify(bot.deliveries.slice(-8).map((d) => [d.key, d.attempt]))}`);
      });
      await page.locator('#dead-range', { hasText: '1–3 of 3' }).waitFor();
      page.once('dialog', (dialog) => {
        assert.match(dialog.message(), /Delete every dead letter for good \(3\)/);
        void dialog.accept();
      });
      await page.click('#delete-all');
      await page.getByText('3 deleted.').waitFor();
      assert.equal(await deadCount(), 0);
      assert.deepEqual(problems, []);
      await page.close();
    } finally {
      await proxy.close();
      await bot.stop();
    }
  });
});
