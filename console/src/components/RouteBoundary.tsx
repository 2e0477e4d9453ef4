/** An error boundary per route: a failed screen shows an alert with a way back, never a blank page. */
import { Alert, Button } from '@mantine/core';
import { Component, type ReactNode } from 'react';

export class RouteBoundary extends Component<{ children: ReactNode }, { error?: Error }> {
  override state: { error?: Error } = {};

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  override render() {
    if (!this.state.error) return this.props.children;
    return (
      <Alert color="red" title="This screen failed" role="alert">
        {this.state.error.message}{' '}
        <Button variant="subtle" onClick={() => this.setState({ error: undefined })}>
          Try again
        </Button>
      </Alert>
    );
  }
}
