/**
 * The console's shell and router. Sign-in and the campaign list are in the first load; every other
 * screen is its own chunk, loaded when first opened. A non-admin token sees the "not allowed" page.
 */
import { Anchor, AppShell, Button, Group, Loader, Text, Title } from '@mantine/core';
import { lazy, Suspense } from 'react';
import { Link, Route, Switch, useLocation } from 'wouter';
import { signOut } from './api';
import { RouteBoundary } from './components/RouteBoundary';
import { Campaigns } from './routes/campaigns/Campaigns';
import { NotAllowed } from './routes/not-allowed/NotAllowed';
import { SignIn } from './routes/sign-in/SignIn';
import { useSession } from './session';

const CampaignForm = lazy(() => import('./routes/campaign-form/CampaignForm'));
const CampaignPage = lazy(() => import('./routes/campaign/CampaignPage'));
const Setup = lazy(() => import('./routes/setup/Setup'));
const Users = lazy(() => import('./routes/users/Users'));
const Redemptions = lazy(() => import('./routes/redemptions/Redemptions'));
const DeadLetters = lazy(() => import('./routes/dead-letters/DeadLetters'));
const Webhooks = lazy(() => import('./routes/webhooks/Webhooks'));

export function App() {
  const current = useSession();
  const [location] = useLocation();
  if (location === '/setup' && !current) {
    return (
      <Suspense fallback={<Loader aria-label="Loading" />}>
        <Setup />
      </Suspense>
    );
  }
  if (!current) return <SignIn />;
  if (current.role !== 'admin') return <NotAllowed email={current.email} role={current.role} />;
  return (
    <AppShell header={{ height: 56 }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between">
          <Group>
            <Title order={1} size="h3">
              <Anchor component={Link} href="/" c="inherit" underline="never">
                Stampede
              </Anchor>
            </Title>
            <nav aria-label="Main">
              <Group gap="md">
                <Anchor component={Link} href="/">
                  Campaigns
                </Anchor>
                <Anchor component={Link} href="/redemptions">
                  Redemptions
                </Anchor>
                <Anchor component={Link} href="/dead-letters">
                  Dead letters
                </Anchor>
                <Anchor component={Link} href="/users">
                  Users
                </Anchor>
                <Anchor component={Link} href="/webhooks">
                  Webhooks
                </Anchor>
              </Group>
            </nav>
          </Group>
          <Group>
            <Text size="sm">{current.email}</Text>
            <Button variant="default" size="xs" onClick={() => void signOut()}>
              Sign out
            </Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Main>
        <RouteBoundary>
          <Suspense fallback={<Loader aria-label="Loading" />}>
            <Switch>
              <Route path="/" component={Campaigns} />
              <Route path="/users" component={Users} />
              <Route path="/redemptions" component={Redemptions} />
              <Route path="/dead-letters" component={DeadLetters} />
              <Route path="/webhooks" component={Webhooks} />
              <Route path="/setup" component={Campaigns} />
              <Route path="/campaigns/new">{() => <CampaignForm />}</Route>
              <Route path="/campaigns/:id/edit">{(params) => <CampaignForm id={params.id} />}</Route>
              <Route path="/campaigns/:id">{(params) => <CampaignPage id={params.id} />}</Route>
              <Route>
                <Text>This page does not exist.</Text>
              </Route>
            </Switch>
          </Suspense>
        </RouteBoundary>
      </AppShell.Main>
    </AppShell>
  );
}
