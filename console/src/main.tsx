import '@mantine/core/styles.css';
import './console.css';
import { MantineProvider } from '@mantine/core';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { theme } from './theme.js';

const root = document.getElementById('root');
if (!root) throw new Error('#root is missing from index.html');

createRoot(root).render(
  <StrictMode>
    {/*
      No <style> elements, so the page runs under `style-src 'self'` (no 'unsafe-inline'):
      - withGlobalClasses={false}: Mantine's hiddenFrom/visibleFrom classes are injected as a <style>;
        the console does not use them.
      - withCssVariables={false}: MantineProvider writes the theme's CSS variables in a <style>
        (an empty one for the default theme). The default theme's variables are in styles.css
        already; theme.ts keeps to the default theme's values, console.css overrides any.
      - no responsive style props ({ base, sm }), AppShell, Grid or SimpleGrid: they inject <style>
        too. Responsive layout lives in console.css.
      - Modals with lockScroll={false}: react-remove-scroll injects a <style> to lock scrolling.
      Style *attributes* that React sets (Mantine's CSS variables on elements) go through the CSSOM,
      which CSP allows. test/e2e/console.browser.test.ts fails on any CSP violation.
    */}
    <MantineProvider theme={theme} defaultColorScheme="auto" withCssVariables={false} withGlobalClasses={false}>
      <App />
    </MantineProvider>
  </StrictMode>,
);
