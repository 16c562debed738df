// The dashboard's one table: columns declared once (header, cell, alignment), the same header
// and row markup everywhere (runs, experiments, models, versions, evaluation, compare).
import type { ReactNode } from "react";

export interface Column<T> {
  /** Unique within the table; also the React key of its cells. */
  key: string;
  header: ReactNode;
  cell: (row: T) => ReactNode;
  /** Right-aligned with tabular figures. */
  numeric?: boolean;
  className?: string;
}

const SIZES = {
  normal: { table: "text-sm", cell: "px-3 py-2" },
  compact: { table: "text-xs", cell: "px-2 py-1" },
} as const;

export function DataTable<T>({
  rows,
  columns,
  rowKey,
  testId,
  size = "normal",
  framed = false,
  rowProps,
  header = true,
  footer,
}: {
  rows: readonly T[];
  columns: readonly Column<T>[];
  rowKey: (row: T) => string | number;
  testId?: string;
  size?: keyof typeof SIZES;
  /** A bordered white card with a shaded header, for a page's main table. */
  framed?: boolean;
  /** Extra row attributes: a class, or data-* attributes tests and styles select on. */
  rowProps?: (row: T) => { className?: string } & Record<`data-${string}`, string | boolean | undefined>;
  /** false for a key/value list, which needs no header. */
  header?: boolean;
  /** A totals row, say: one `<tr>` of `<td>`s. */
  footer?: ReactNode;
}) {
  const { table, cell } = SIZES[size];
  const align = (column: Column<T>) => (column.numeric ? "text-right tabular-nums" : "");
  // Wide tables (a column per evaluation set) scroll inside their card, not the page.
  return (
    <div className="overflow-x-auto">
      <table
        className={`w-full ${table} ${framed ? "rounded border border-slate-200 bg-white" : ""}`}
        data-testid={testId}
      >
        {header && (
          <thead
            className={`text-left text-xs uppercase ${framed ? "bg-slate-100 text-slate-600" : "text-slate-500"}`}
          >
            <tr>
              {columns.map((column) => (
                <th
                  key={column.key}
                  className={`${cell} whitespace-nowrap ${column.numeric ? "text-right" : ""}`}
                >
                  {column.header}
                </th>
              ))}
            </tr>
          </thead>
        )}
        <tbody>
          {rows.map((row) => {
            const { className, ...data } = rowProps?.(row) ?? {};
            return (
              <tr
                key={rowKey(row)}
                className={`border-t border-slate-100 align-top first:border-0 ${className ?? ""}`}
                {...data}
              >
                {columns.map((column) => (
                  <td key={column.key} className={`${cell} ${align(column)} ${column.className ?? ""}`}>
                    {column.cell(row)}
                  </td>
                ))}
              </tr>
            );
          })}
        </tbody>
        {footer && <tfoot className="border-t border-slate-300 font-semibold">{footer}</tfoot>}
      </table>
    </div>
  );
}
