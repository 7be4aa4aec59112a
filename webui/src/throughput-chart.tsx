/**
 * The dashboard's throughput chart, drawn as SVG at the size of its box (so labels stay legible on a
 * phone): bits per second received and sent through the tunnels, a value axis with round steps in
 * SI units, a clock-time axis, a legend, and a text summary for screen readers.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { clockLabel, formatBitRate, rateTicks, runsOf, timeTicks, type Sample } from './chart-scale.ts';

const HEIGHT = 200;
const MARGIN = { left: 78, right: 12, top: 10, bottom: 26 };
const SERIES = [['inBps', 'received', 'series-in'], ['outBps', 'sent', 'series-out']] as const;

export function ThroughputChart(props: { samples: readonly Sample[]; windowMs: number; now: number; gapMs: number }) {
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(600);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const measure = () => setWidth(Math.max(240, Math.floor(el.clientWidth)));
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  const { samples, windowMs, now } = props;
  const from = now - windowMs;
  const shown = samples.filter((s) => s.at >= from);
  const peak = Math.max(0, ...shown.flatMap((s) => [s.inBps, s.outBps]));
  // An idle chart still gets a sensible axis (0 to 1 kbit/s), not 0 to 1 bit/s.
  const ticks = rateTicks(Math.max(1000, peak));
  const top = ticks[ticks.length - 1]!;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (at: number) => MARGIN.left + ((at - from) / windowMs) * plotW;
  const y = (bps: number) => MARGIN.top + plotH - (bps / top) * plotH;
  // A label every minute, or every two on a narrow screen.
  const minutes = timeTicks(from, now, plotW < 300 ? 120_000 : 60_000);
  const last = shown[shown.length - 1];
  const summary = last
    ? `Over the last ${Math.round(windowMs / 60_000)} minutes: now ${formatBitRate(last.inBps)} received and ${formatBitRate(last.outBps)} sent; peak ${formatBitRate(peak)}.`
    : 'Measuring: the first rate appears after two readings.';
  return (
    <figure class="throughput" ref={box}>
      <svg width={width} height={HEIGHT} viewBox={`0 0 ${width} ${HEIGHT}`} class="chart" role="img" aria-labelledby="throughput-title throughput-desc" data-testid="throughput">
        <title id="throughput-title">Throughput through the tunnels, bits per second</title>
        <desc id="throughput-desc">{summary}</desc>
        {ticks.map((v) => (
          <g key={`y${v}`} class="y-tick">
            <line x1={MARGIN.left} x2={width - MARGIN.right} y1={y(v)} y2={y(v)} class="grid" />
            <text x={MARGIN.left - 6} y={y(v)} text-anchor="end" dominant-baseline="middle">{formatBitRate(v)}</text>
          </g>
        ))}
        {minutes.map((at) => (
          <g key={`x${at}`} class="x-tick">
            <line x1={x(at)} x2={x(at)} y1={MARGIN.top + plotH} y2={MARGIN.top + plotH + 4} class="axis" />
            <text x={x(at)} y={HEIGHT - 6} text-anchor="middle">{clockLabel(at)}</text>
          </g>
        ))}
        <line x1={MARGIN.left} x2={MARGIN.left} y1={MARGIN.top} y2={MARGIN.top + plotH} class="axis" />
        <line x1={MARGIN.left} x2={width - MARGIN.right} y1={MARGIN.top + plotH} y2={MARGIN.top + plotH} class="axis" />
        {SERIES.map(([key, , cls]) => runsOf(shown, props.gapMs).map((run) => (
          <polyline key={`${key}${run[0]!.at}`} class={cls} data-series={key} points={run.map((s) => `${x(s.at).toFixed(1)},${y(s[key]).toFixed(1)}`).join(' ')} />
        )))}
      </svg>
      <figcaption>
        {SERIES.map(([key, label, cls]) => (
          <span key={key} class="legend"><i class={cls} aria-hidden="true" />{label}{last ? ` ${formatBitRate(last[key])}` : ''}</span>
        ))}
        <span class="hint">{last ? `peak ${formatBitRate(peak)}` : 'measuring…'}</span>
      </figcaption>
    </figure>
  );
}
