/** Sign in with email and password (POST /v1/auth/login); the token starts the session. */
import { Button, Container, Paper, PasswordInput, Stack, TextInput, Title } from '@mantine/core';
import { useState } from 'react';
import { $api, fieldErrors } from '../../api';
import { ErrorBanner } from '../../components/ErrorBanner';
import { startSessionFrom } from '../../session';

export function SignIn() {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const login = $api.useMutation('post', '/v1/auth/login', {
    onSuccess: startSessionFrom,
  });
  const errors = fieldErrors(login.error);
  return (
    <Container size={420} py="xl">
      <main>
        <Title order={1} mb="md">
          Stampede console
        </Title>
        <Paper withBorder p="lg">
          <form
            onSubmit={(event) => {
              event.preventDefault();
              login.mutate({ body: { email, password } });
            }}
          >
            <Stack>
              <TextInput
                label="Email"
                type="email"
                autoComplete="username"
                required
                value={email}
                error={errors.email}
                onChange={(event) => setEmail(event.currentTarget.value)}
              />
              <PasswordInput
                label="Password"
                autoComplete="current-password"
                required
                value={password}
                error={errors.password}
                onChange={(event) => setPassword(event.currentTarget.value)}
              />
              {login.error && !Object.keys(errors).length ? <ErrorBanner error={login.error} /> : null}
              <Button type="submit" loading={login.isPending}>
                Sign in
              </Button>
            </Stack>
          </form>
        </Paper>
      </main>
    </Container>
  );
}
