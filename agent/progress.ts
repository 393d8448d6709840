// Progress bars for transfers (download, publish): human units, rate and time left, on stderr
// and only on a terminal (never with --json, never in a pipe or a log).
import { SingleBar } from 'cli-progress';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 → "1.5 KiB". */
export function humanBytes(n: number): string {
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${UNITS[unit]}`;
}

/** 75 → "1m15s"; unknown → "?". */
export function humanSeconds(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** The text after the bar: "42% | 1.2 MiB / 3.0 MiB | 850 KiB/s | 2s left". */
export function progressLine(p: {
  done: number;
  total: number;
  sinceStart: number;
  elapsedMs: number;
}): string {
  const percent = p.total > 0 ? Math.floor((p.done / p.total) * 100) : 100;
  const rate = p.elapsedMs > 0 ? (p.sinceStart / p.elapsedMs) * 1000 : 0;
  const left = rate > 0 ? humanSeconds((p.total - p.done) / rate) : '?';
  return `${String(percent).padStart(3)}% | ${humanBytes(p.done)} / ${humanBytes(p.total)} | ${rate > 0 ? `${humanBytes(Math.round(rate))}/s` : '-'} | ${left} left`;
}

export interface ByteProgress {
  start(total: number, at?: number): void;
  update(done: number): void;
  stop(): void;
}

/** A bar for a transfer labelled `label`, or undefined when stderr is not a terminal. */
export function byteBar(
  label: string,
  stream: NodeJS.WriteStream = process.stderr,
): ByteProgress | undefined {
  if (!stream.isTTY) return undefined;
  let startedAt = 0;
  let startValue = 0;
  const bar = new SingleBar({
    hideCursor: true,
    stream,
    format: (options, params) => {
      const width = options.barsize ?? 30;
      const filled = Math.round(params.progress * width);
      const line = progressLine({
        done: params.value,
        total: params.total,
        sinceStart: params.value - startValue,
        elapsedMs: Date.now() - startedAt,
      });
      return `  ${label} ${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${line}`;
    },
  });
  return {
    start(total, at = 0) {
      startedAt = Date.now();
      startValue = at;
      bar.start(total, at);
    },
    update: (done) => bar.update(done),
    stop: () => bar.stop(),
  };
}
