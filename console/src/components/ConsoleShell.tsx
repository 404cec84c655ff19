import { Anchor, Button, Container, Group, Text } from '@mantine/core';
import { hrefs, useRoute, type Route } from '../lib/router.js';
import { DepositListPage } from '../pages/DepositListPage.js';
import { DepositPage } from '../pages/DepositPage.js';
import { WebhooksPage } from '../pages/WebhooksPage.js';
import { useSession } from '../session.js';
import { LiveIndicator } from './LiveIndicator.js';

/** The signed-in frame: header (navigation, live state, "Sign out") and the page of the route. */
export function ConsoleShell() {
  const route = useRoute();
  const { liveState, signOut } = useSession();
  return (
    <>
      <header className="console-header">
        <Container size="xl" className="console-header-inner">
          <Group gap="lg" wrap="nowrap" className="console-brand-nav">
            <Anchor href={hrefs.deposits()} underline="never" c="inherit" className="console-brand">
              <img src={`${import.meta.env.BASE_URL}favicon.svg`} alt="" width={24} height={24} />
              <Text span fw={700} className="console-brand-text">
                Operator console
              </Text>
            </Anchor>
            <nav aria-label="Console">
              <ul className="console-nav">
                <li>
                  <a href={hrefs.deposits()} aria-current={isSection(route, 'deposits') ? 'page' : undefined}>
                    Deposits
                  </a>
                </li>
                <li>
                  <a href={hrefs.webhooks()} aria-current={isSection(route, 'webhooks') ? 'page' : undefined}>
                    Webhooks
                  </a>
                </li>
              </ul>
            </nav>
          </Group>
          <Group gap="sm" wrap="nowrap">
            <LiveIndicator state={liveState} />
            <Button variant="default" size="xs" onClick={signOut}>
              Sign out
            </Button>
          </Group>
        </Container>
      </header>
      <Container size="xl" component="main" className="console-main">
        {route.name === 'deposit' ? (
          <DepositPage key={route.id} id={route.id} />
        ) : route.name === 'webhooks' ? (
          <WebhooksPage endpointId={route.endpointId} />
        ) : (
          <DepositListPage />
        )}
      </Container>
    </>
  );
}

/** The navigation item a route belongs to (a deposit's page is in "Deposits"). */
function isSection(route: Route, section: 'deposits' | 'webhooks'): boolean {
  return section === 'webhooks' ? route.name === 'webhooks' : route.name === 'deposits' || route.name === 'deposit';
}
