/**
 * First-run setup, from the one-time link `stampede serve` prints on an installation without an
 * admin (`/console/setup?token=…`): creates the first admin (POST /v1/setup) and signs it in.
 */
import {
  Alert,
  Anchor,
  Button,
  Container,
  Paper,
  PasswordInput,
  Stack,
  TextInput,
  Title,
} from '@mantine/core';
import { useState } from 'react';
import { Link, useSearch } from 'wouter';
import { $api, client, fieldErrors } from '../../api';
import { ErrorBanner } from '../../components/ErrorBanner';
import { startSessionFrom } from '../../session';

export default function Setup() {
  const token = new URLSearchParams(useSearch()).get('token') ?? '';
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const state = $api.useQuery('get', '/v1/setup');
  const create = $api.useMutation('post', '/v1/setup', {
    // The admin exists: sign it in with the password just chosen.
    onSuccess: async () => {
      const { data, error } = await client.POST('/v1/auth/login', { body: { email, password } });
      if (error) throw error;
      startSessionFrom(data);
      window.history.replaceState(null, '', '/console/');
    },
  });
  const errors = fieldErrors(create.error);
  return (
    <Container size={420} py="xl">
      <main>
        <Title order={1} mb="md">
          Set up Stampede
        </Title>
        {state.data && !state.data.needed ? (
          <Alert title="Already set up" role="status">
            This installation has its admin.{' '}
            <Anchor component={Link} href="/">
              Sign in
            </Anchor>
          </Alert>
        ) : (
          <Paper withBorder p="lg">
            <form
              noValidate
              onSubmit={(event) => {
                event.preventDefault();
                create.mutate({ body: { token, email, password } });
              }}
            >
              <Stack>
                <TextInput
                  label="Admin email"
                  type="email"
                  autoComplete="username"
                  value={email}
                  error={errors.email}
                  onChange={(event) => setEmail(event.currentTarget.value)}
                />
                <PasswordInput
                  label="Admin password (at least 8 characters)"
                  autoComplete="new-password"
                  value={password}
                  error={errors.password}
                  onChange={(event) => setPassword(event.currentTarget.value)}
                />
                {Object.keys(errors).length ? null : <ErrorBanner error={create.error ?? state.error} />}
                <Button type="submit" loading={create.isPending}>
                  Create admin
                </Button>
              </Stack>
            </form>
          </Paper>
        )}
      </main>
    </Container>
  );
}
