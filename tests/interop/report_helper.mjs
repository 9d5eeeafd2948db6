// Third-party readers of evload's report files (CTest label interop):
//   node report_helper.mjs junit FILE
//       junit2json (a JUnit-specific parser) reads junit.xml; prints its JSON.
//   node report_helper.mjs page HTML USERDIR SHOT
//       headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core)
//       loads report.html from disk; prints JSON: every request the page made,
//       chart element counts, and whether the full-page screenshot (written to
//       SHOT) is blank, decoded here from the PNG with node's zlib.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const [cmd, ...args] = process.argv.slice(2);

// PNG → {width, height, colors, nonWhite}: unfilters every scanline (8-bit
// RGB or RGBA, as Chromium writes) and counts distinct colours and pixels
// that are not white.
function pngStats(buf) {
  let off = 8, width = 0, height = 0, ctype = 0, depth = 0;
  const idat = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off), type = buf.toString('latin1', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0); height = data.readUInt32BE(4);
      depth = data[8]; ctype = data[9];
    } else if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  if (depth !== 8 || (ctype !== 2 && ctype !== 6)) throw new Error(`PNG depth ${depth} type ${ctype}`);
  const bpp = ctype === 6 ? 4 : 3, stride = width * bpp;
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const cur = Buffer.alloc(stride), prev = Buffer.alloc(stride);
  const colors = new Set();
  let nonWhite = 0;
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)], line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? cur[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
      let v = line[i];
      if (f === 1) v += a;
      else if (f === 2) v += b;
      else if (f === 3) v += (a + b) >> 1;
      else if (f === 4) {
        const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      cur[i] = v & 255;
    }
    for (let x = 0; x < width; x++) {
      const r = cur[x * bpp], g = cur[x * bpp + 1], bl = cur[x * bpp + 2];
      if (colors.size < 100000) colors.add((r << 16) | (g << 8) | bl);
      if (r < 245 || g < 245 || bl < 245) nonWhite++;
    }
    cur.copy(prev);
  }
  return { width, height, colors: colors.size, nonWhite, fraction: nonWhite / (width * height) };
}

if (cmd === 'junit') {
  const { parse } = await import('junit2json');
  const out = await parse(fs.readFileSync(args[0], 'utf8'));
  console.log(JSON.stringify(out));
} else if (cmd === 'page') {
  const { chromium } = await import('playwright-core');
  const [html, userDir, shot] = args;
  const ctx = await chromium.launchPersistentContext(userDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1000, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const requests = [];
  ctx.on('request', (r) => requests.push(r.url()));
  const page = ctx.pages()[0] || (await ctx.newPage());
  const url = html === 'about:blank' ? html : 'file://' + path.resolve(html);
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForTimeout(300);
  const dom = await page.evaluate(() => ({
    ratePoints: document.querySelectorAll('svg#rate circle.pt').length,
    svgs: document.querySelectorAll('svg').length,
    polylines: document.querySelectorAll('svg polyline').length,
    scripts: document.scripts.length,
    verdict: document.querySelector('.verdict')?.textContent ?? null,
    h2: [...document.querySelectorAll('h2')].map((h) => h.textContent),
  }));
  await page.screenshot({ path: shot, fullPage: true });
  await ctx.close();
  const png = pngStats(fs.readFileSync(shot));
  console.log(JSON.stringify({ url, requests: requests.filter((u) => u !== url), dom, png }));
} else {
  console.error('usage: report_helper.mjs junit FILE | page HTML USERDIR SHOT');
  process.exit(2);
}
