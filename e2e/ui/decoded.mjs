// Opens a capture's page in the local stack's Temporal Web UI in headless Chromium, waits until
// the page shows the text the test expects (a payload only the codec server can decrypt), and
// prints what the page shows, with what the UI asked of the codec server, as one JSON object.
// Usage: node decoded.mjs '{"ui":…,"chromium":…,"out":…,"workflowId":…,"runId":…,"expect":…}'
import { chromium } from 'playwright-core';

const job = JSON.parse(process.argv[2]);
const browser = await chromium.launch({ executablePath: job.chromium, headless: true, args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
  const codecCalls = [];
  page.on('response', (r) => {
    if (r.url().endsWith('/decode')) codecCalls.push(r.status());
  });
  await page.goto(`${job.ui}/namespaces/default/workflows/${encodeURIComponent(job.workflowId)}/${job.runId}/history`);
  let found = true;
  try {
    await page.getByText(job.expect, { exact: false }).first().waitFor({ timeout: 60000 });
  } catch {
    found = false;
  }
  await page.waitForLoadState('networkidle');
  const text = await page.locator('body').innerText();
  await page.screenshot({ path: `${job.out}/ui-capture-decoded.png` });
  console.log(JSON.stringify({ found, codecCalls, text }));
} finally {
  await browser.close();
}
