/** Renders results as JSON or as a plain table. */
export type OutputFormat = 'table' | 'json';

const cell = (value: unknown): string => {
  if (value === null || value === undefined) return '-';
  if (Array.isArray(value)) return value.map(cell).join(',');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
};

export function renderTable(rows: Array<Record<string, unknown>>, columns?: string[]): string {
  if (rows.length === 0) return '(none)\n';
  const cols = columns ?? Object.keys(rows[0] ?? {});
  const data = rows.map((row) => cols.map((c) => cell(row[c])));
  const widths = cols.map((c, i) => Math.max(c.length, ...data.map((r) => (r[i] ?? '').length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return `${[line(cols.map((c) => c.toUpperCase())), ...data.map(line)].join('\n')}\n`;
}

export function renderRecord(record: Record<string, unknown>): string {
  const width = Math.max(...Object.keys(record).map((k) => k.length));
  return `${Object.entries(record)
    .map(([k, v]) => `${k.padEnd(width)}  ${cell(v)}`)
    .join('\n')}\n`;
}

export function render(result: unknown, format: OutputFormat, columns?: string[]): string {
  if (format === 'json') return `${JSON.stringify(result, null, 2)}\n`;
  if (result === null || result === undefined) return '';
  if (Array.isArray(result)) return renderTable(result as Array<Record<string, unknown>>, columns);
  if (typeof result === 'object') {
    const maybeList = result as { items?: unknown };
    if (Array.isArray(maybeList.items)) return renderTable(maybeList.items as Array<Record<string, unknown>>, columns);
    return renderRecord(result as Record<string, unknown>);
  }
  return `${String(result)}\n`;
}
