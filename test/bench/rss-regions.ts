// Where a process's RSS is, from /proc/<pid>/smaps (issue 23's SSTP memory per call): V8's heap pages
// (anonymous 256 KiB mappings), glibc's main malloc arena ([heap]: what the JavaScript thread allocates
// in C, OpenSSL's SSL objects among it), and the rest (thread arenas such as the SSTP engine's, V8's
// large objects, stacks, the binary). Sans-I/O: text in, byte counts out; what is not a mapping header
// or an Rss line is skipped and counted.

/** Bytes resident by region, and the lines that were neither a mapping nor a field of one. */
export interface RssRegions {
  v8Pages: number;
  mallocMain: number;
  other: number;
  unreadLines: number;
}

const V8_PAGE = 256 * 1024;
const HEADER = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/;
const RSS = /^Rss:\s+(\d+) kB$/;
const FIELD = /^[A-Za-z_]+:\s/;

export function rssRegions(smaps: string): RssRegions {
  const out: RssRegions = { v8Pages: 0, mallocMain: 0, other: 0, unreadLines: 0 };
  let region: keyof Omit<RssRegions, 'unreadLines'> | undefined;
  for (const line of smaps.split('\n')) {
    if (line === '') continue;
    const header = HEADER.exec(line);
    if (header) {
      const size = Number.parseInt(header[2]!, 16) - Number.parseInt(header[1]!, 16);
      const path = header[3]!;
      region = path === '[heap]' ? 'mallocMain' : path === '' && size === V8_PAGE ? 'v8Pages' : 'other';
      continue;
    }
    const rss = RSS.exec(line);
    if (rss && region) out[region] += Number(rss[1]) * 1024;
    else if (!FIELD.test(line)) out.unreadLines++;
  }
  return out;
}

/** Growth per call by region, in KB (one decimal), between two readings. */
export function regionsPerCall(before: RssRegions, after: RssRegions, calls: number): string {
  const kb = (key: keyof Omit<RssRegions, 'unreadLines'>) => ((after[key] - before[key]) / 1024 / Math.max(1, calls)).toFixed(1);
  return `V8 heap pages ${kb('v8Pages')} KB, main malloc arena ${kb('mallocMain')} KB, other mappings (the SSTP engine thread's arena among them) ${kb('other')} KB`;
}
