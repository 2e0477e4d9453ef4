/** What a service or user token sees: the console is for admins only. */
import { Alert, Button, Container, Title } from '@mantine/core';
import { signOut } from '../../api';

export function NotAllowed({ email, role }: { email: string; role: string }) {
  return (
    <Container size="sm" py="xl">
      <main>
        <Title order={1} mb="md">
          Not allowed
        </Title>
        <Alert color="orange" role="alert" title="This console is for administrators" mb="md">
          {`You are signed in as ${email} with the role "${role}". Only admins may use the console; ask an admin to change your role.`}
        </Alert>
        <Button onClick={() => void signOut()}>Sign out</Button>
      </main>
    </Container>
  );
}
