/**
 * Accounts (admin): the list (GET /v1/users, keyset pages), a form to create an admin, service or
 * user account (POST), and per account a role change and Disable / Enable (PATCH). The API keeps
 * the last enabled admin (409 `last-admin`), shown in the banner.
 */

import { Badge, Button, Group, PasswordInput, Select, Stack, Table, TextInput, Title } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { $api, client, fieldErrors } from '../../api';
import { ErrorBanner } from '../../components/ErrorBanner';
import { HeaderRow } from '../../components/HeaderRow';
import { PageFooter } from '../../components/PageFooter';
import { formatDate } from '../../format';
import { cursorQuery, useKeysetPages } from '../../pages';

type Role = 'admin' | 'service' | 'user';
const ROLES: Role[] = ['admin', 'service', 'user'];

export default function Users() {
  const queryClient = useQueryClient();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('service');
  const { pages, items: users } = useKeysetPages('/v1/users', {}, (cursor) =>
    client.GET('/v1/users', { params: { query: { limit: 50, ...cursorQuery(cursor) } } }),
  );
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['get', '/v1/users'] });
  const create = $api.useMutation('post', '/v1/users', {
    onSuccess: () => {
      setEmail('');
      setPassword('');
      return refresh();
    },
  });
  const update = $api.useMutation('patch', '/v1/users/{id}', { onSuccess: refresh });
  const errors = fieldErrors(create.error);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate({ body: { email, password, role } });
  };

  return (
    <Stack>
      <Title order={2}>Users</Title>
      <form onSubmit={submit} noValidate aria-label="New account">
        <Group align="flex-start">
          <TextInput
            label="New account email"
            type="email"
            value={email}
            error={errors.email}
            onChange={(event) => setEmail(event.currentTarget.value)}
          />
          <PasswordInput
            label="Its password"
            value={password}
            error={errors.password}
            onChange={(event) => setPassword(event.currentTarget.value)}
          />
          <Select
            label="Its role"
            data={ROLES}
            value={role}
            allowDeselect={false}
            onChange={(value) => setRole((value as Role) ?? 'service')}
          />
          <Button type="submit" mt={24} loading={create.isPending}>
            Create account
          </Button>
        </Group>
      </form>
      {Object.keys(errors).length ? null : <ErrorBanner error={create.error} />}
      <ErrorBanner error={update.error ?? pages.error} />
      <Table striped aria-label="Users">
        <HeaderRow columns={['Email', 'Role', 'State', 'Created', 'Actions']} />
        <Table.Tbody>
          {users.map((user) => (
            <Table.Tr key={user.id}>
              <Table.Td>{user.email}</Table.Td>
              <Table.Td>
                <Select
                  aria-label={`Role of ${user.email}`}
                  data={ROLES}
                  value={user.role}
                  allowDeselect={false}
                  onChange={(value) =>
                    value &&
                    update.mutate({ params: { path: { id: user.id } }, body: { role: value as Role } })
                  }
                />
              </Table.Td>
              <Table.Td>
                <Badge variant="dot" color={user.disabled ? 'gray' : 'green'}>
                  {user.disabled ? 'disabled' : 'enabled'}
                </Badge>
              </Table.Td>
              <Table.Td>{formatDate(user.createdAt)}</Table.Td>
              <Table.Td>
                <Button
                  variant="default"
                  size="xs"
                  aria-label={`${user.disabled ? 'Enable' : 'Disable'} ${user.email}`}
                  onClick={() =>
                    update.mutate({ params: { path: { id: user.id } }, body: { disabled: !user.disabled } })
                  }
                >
                  {user.disabled ? 'Enable' : 'Disable'}
                </Button>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <PageFooter pages={pages} empty={users.length === 0} emptyText="No accounts." />
    </Stack>
  );
}
