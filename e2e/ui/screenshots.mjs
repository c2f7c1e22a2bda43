// Opens the local stack's Temporal Web UI in headless Chromium with the columns
// docs/operations.md describes, on the captures' query, reads what the workflow list and a capture's page show, and
// writes screenshots of both. Prints what it read as one JSON object.
// Usage: node screenshots.mjs '{"ui":…,"chromium":…,"out":…,"paymentIds":[…],"workflowId":…,"runId":…}'
import { chromium } from 'playwright-core';

const job = JSON.parse(process.argv[2]);
const captures = 'WorkflowType="CaptureWorkflow"';
const browser = await chromium.launch({ executablePath: job.chromium, headless: true, args: ['--no-sandbox'] });
try {
  const context = await browser.newContext({ viewport: { width: 1600, height: 900 } });
  // The UI keeps the list's columns in the browser's local storage, per namespace.
  await context.addInitScript(({ columns }) => {
    localStorage.setItem('namespace-workflow-table-columns', JSON.stringify(columns));
  }, {
    columns: { default: [
      { label: 'Status', pinned: true }, { label: 'Workflow ID', pinned: true },
      { label: 'CaptureStatus', pinned: false }, { label: 'AlipayPaymentId', pinned: false },
      { label: 'AlipayMerchant', pinned: false }, { label: 'Start', pinned: false },
    ] },
  });
  const page = await context.newPage();

  await page.goto(`${job.ui}/namespaces/default/workflows?query=${encodeURIComponent(captures)}`);
  for (const id of job.paymentIds) await page.getByText(id, { exact: false }).first().waitFor({ timeout: 60000 });
  const header = await page.locator('table thead').first().innerText();
  const rows = await page.locator('table tbody').first().innerText();
  await page.screenshot({ path: `${job.out}/ui-captures.png` });

  await page.goto(`${job.ui}/namespaces/default/workflows`);
  await page.getByText(job.paymentIds[0], { exact: false }).first().waitFor({ timeout: 60000 });
  const defaultRows = await page.locator('table tbody').first().innerText();

  await page.goto(`${job.ui}/namespaces/default/workflows/${encodeURIComponent(job.workflowId)}/${job.runId}/history`);
  await page.getByText('CaptureWorkflow', { exact: false }).first().waitFor({ timeout: 60000 });
  await page.waitForLoadState('networkidle');
  const workflowPage = await page.locator('body').innerText();
  await page.screenshot({ path: `${job.out}/ui-capture.png` });

  console.log(JSON.stringify({ header, rows, defaultRows, workflowPage }));
} finally {
  await browser.close();
}
