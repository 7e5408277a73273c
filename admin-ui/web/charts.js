// Charts as inline SVG: horizontal bars with their values written out, so the numbers are readable
// without the picture (each chart also has a text table for screen readers).
import { h, svg } from './dom.js';

/**
 * @param {string} title accessible name of the chart
 * @param {Array<{ label: string, value: number, text: string }>} bars
 */
export function barChart(title, bars) {
  const max = Math.max(1, ...bars.map((b) => b.value));
  const rowHeight = 28;
  const labelWidth = 140;
  const width = 520;
  const chart = svg('svg', { viewBox: `0 0 ${width} ${Math.max(1, bars.length) * rowHeight + 4}`, role: 'img', class: 'chart', 'aria-label': title, preserveAspectRatio: 'xMinYMin meet' });
  bars.forEach((bar, i) => {
    const y = i * rowHeight + 2;
    const length = Math.max(bar.value > 0 ? 2 : 0, Math.round(((width - labelWidth - 110) * bar.value) / max));
    chart.append(
      svg('text', { x: 0, y: y + 17, class: 'chart-label' }, bar.label.length > 20 ? `${bar.label.slice(0, 19)}…` : bar.label),
      svg('rect', { x: labelWidth, y: y + 4, width: length, height: rowHeight - 10, rx: 3, class: 'chart-bar' }),
      svg('text', { x: labelWidth + length + 6, y: y + 17, class: 'chart-value' }, bar.text),
    );
  });
  return h('figure', { class: 'chart-figure' }, chart, h('figcaption', null, title));
}

/**
 * A quota bar: how much of a limit is used, as a native <meter> (read out by screen readers) and text.
 * @param {{ label: string, used: number, limit: number | null, usedText: string, limitText: string }} o
 */
export function quotaBar(o) {
  const id = `q-${Math.random().toString(36).slice(2)}`;
  const ratio = o.limit === null ? 0 : o.limit === 0 ? (o.used > 0 ? 1 : 0) : Math.min(1, o.used / o.limit);
  const level = ratio >= 0.9 ? 'high' : ratio >= 0.7 ? 'medium' : 'low';
  return h(
    'div',
    { class: `quota quota-${level}` },
    h('div', { class: 'quota-head' }, h('span', { id }, o.label), h('span', { class: 'quota-text' }, `${o.usedText} / ${o.limitText}`)),
    h('meter', { 'aria-labelledby': id, min: 0, max: 1, low: 0.7, high: 0.9, optimum: 0, value: ratio.toFixed(3), title: `${o.usedText} / ${o.limitText}` }),
  );
}
