/** The header of a data table: one column heading per name, in order (Mantine `Table.Thead`). */
import { Table } from '@mantine/core';

export function HeaderRow({ columns }: { columns: readonly string[] }) {
  return (
    <Table.Thead>
      <Table.Tr>
        {columns.map((column) => (
          <Table.Th key={column}>{column}</Table.Th>
        ))}
      </Table.Tr>
    </Table.Thead>
  );
}
