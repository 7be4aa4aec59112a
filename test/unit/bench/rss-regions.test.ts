// The SSTP benchmark's RSS by region (test/bench/rss-regions.ts): smaps text read into V8 pages, the
// main malloc arena and the rest; anything else counted, never thrown on (fuzzed).
import fc from 'fast-check';
import t from 'tap';
import { regionsPerCall, rssRegions } from '../../bench/rss-regions.ts';

const mapping = (start: number, kb: number, path: string, rssKb: number): string =>
  `${start.toString(16)}-${(start + kb * 1024).toString(16)} rw-p 00000000 00:00 0 ${path}\nSize: ${kb} kB\nRss: ${rssKb} kB\nPss: ${rssKb} kB\nVmFlags: rd wr mr mw me ac\n`;

t.test('mappings go to their region by path and size', async (t) => {
  const text = mapping(0x2a9f7000, 30424, '[heap]', 30096) + mapping(0x2db8380000, 256, '', 256) + mapping(0x88fd5c0000, 256, '', 128) + mapping(0x7f0000000000, 12260, '', 11000) + mapping(0x400000, 7288, '/usr/bin/node', 7288);
  t.same(rssRegions(text), { mallocMain: 30096 * 1024, v8Pages: 384 * 1024, other: (11000 + 7288) * 1024, unreadLines: 0 });
});

t.test('growth per call by region', async (t) => {
  const before = { v8Pages: 1024 * 1024, mallocMain: 0, other: 0, unreadLines: 0 };
  const after = { v8Pages: 3 * 1024 * 1024, mallocMain: 1024 * 1024, other: 512 * 1024, unreadLines: 0 };
  t.equal(regionsPerCall(before, after, 1024), 'V8 heap pages 2.0 KB, main malloc arena 1.0 KB, other mappings (the SSTP engine thread\'s arena among them) 0.5 KB');
});

t.test('2,000 random and mutated texts never throw; lines that are no mapping or field are counted', async (t) => {
  let counted = 0;
  const check = (text: string) => {
    const r = rssRegions(text);
    if (r.unreadLines > 0) counted++;
    return [r.v8Pages, r.mallocMain, r.other, r.unreadLines].every((n) => Number.isFinite(n) && n >= 0);
  };
  const good = mapping(0x2a9f7000, 256, '', 200);
  const mutated = fc.tuple(fc.nat(good.length), fc.string({ maxLength: 12 })).map(([at, insert]) => good.slice(0, at) + insert + good.slice(at));
  fc.assert(fc.property(fc.string({ maxLength: 200 }), check), { numRuns: 1000 });
  fc.assert(fc.property(mutated, check), { numRuns: 1000 });
  t.ok(counted > 500, `malformed lines counted in ${counted} of 2,000`);
  t.equal(rssRegions('garbage\n').unreadLines, 1);
});
