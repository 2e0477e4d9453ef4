import '@mantine/core/styles.css';
import './contrast.css';
import { createTheme, MantineProvider } from '@mantine/core';
import { QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Router } from 'wouter';
import { App } from './App';
import { queryClient } from './api';

/** Darker shades and automatic text colour, so every filled control meets WCAG AA contrast. */
const theme = createTheme({
  primaryShade: 8,
  autoContrast: true,
  // Operators who ask their system for less motion get no transitions (dialogs open at once).
  respectReducedMotion: true,
});

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <MantineProvider theme={theme}>
      <QueryClientProvider client={queryClient}>
        <Router base="/console">
          <App />
        </Router>
      </QueryClientProvider>
    </MantineProvider>
  </StrictMode>,
);
