// The book's accessibility gate: axe-core on every page of a built site, in Debian's Chromium.
//
//   node tests/site/axe.mjs SITE_HTML [--json REPORT.json] [--report-only]
//
// Opens each page (not _static/, genindex, search, or Jupyter Book's redirecting index.html)
// at 1280x900, runs axe-core's WCAG 2.x A/AA rules and best practices, prints one line per
// violation and exits 1 when any is serious or critical (--report-only: always 0).
import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import puppeteer from "puppeteer-core";

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const GATED = new Set(["serious", "critical"]);

function pages(root, dir = root) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "_static" || name === "_sources" ? [] : pages(root, path);
    if (!name.endsWith(".html") || ["genindex.html", "search.html"].includes(name)) return [];
    return /http-equiv="Refresh"/i.test(readFileSync(path, "utf8")) ? [] : [path];
  }).sort();
}

const args = process.argv.slice(2);
const site = args.find((a) => !a.startsWith("--") && args[args.indexOf(a) - 1] !== "--json");
const report = args.includes("--json") ? args[args.indexOf("--json") + 1] : null;
if (!site) {
  console.error("usage: node tests/site/axe.mjs SITE_HTML [--json REPORT.json] [--report-only]");
  process.exit(2);
}
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--no-first-run", "--allow-file-access-from-files"],
});
const found = [];
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  for (const path of pages(site)) {
    await page.goto(pathToFileURL(path).href, { waitUntil: "load", timeout: 120000 });
    // the book's mends (omglib-a11y.js) finish after the theme's scripts: judge the page after them
    await page.waitForFunction(() => document.documentElement.dataset.a11yMended === "true"
      || !document.querySelector("script[src*='omglib-a11y']"), { timeout: 30000 });
    await page.addScriptTag({ content: AXE });
    const result = await page.evaluate(() => globalThis.axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
    }));
    for (const v of result.violations) {
      found.push({ page: relative(site, path), id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length,
                   targets: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) });
    }
  }
} finally {
  await browser.close();
}
const gated = found.filter((v) => GATED.has(v.impact));
for (const v of found) {
  console.log(`${GATED.has(v.impact) ? "FAIL" : "note"} ${v.page}: ${v.impact} ${v.id} (${v.nodes} nodes): ${v.help}; ${v.targets.join(", ")}`);
}
console.log(`axe-core: ${gated.length} serious or critical violations (${gated.reduce((s, v) => s + v.nodes, 0)} nodes), `
            + `${found.length - gated.length} minor or moderate, on ${new Set(found.map((v) => v.page)).size} pages`);
if (report) writeFileSync(report, JSON.stringify(found, null, 1));
process.exit(gated.length && !args.includes("--report-only") ? 1 : 0);
