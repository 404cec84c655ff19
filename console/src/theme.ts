import { createTheme } from '@mantine/core';

/**
 * Mantine's theme. MantineProvider does not write the theme's CSS variables (withCssVariables
 * is off: it would need a <style> element, which the page's CSP refuses), so the CSS sees
 * Mantine's defaults from styles.css. Anything here that changes a CSS variable (primaryColor,
 * colors, fontFamily, radius, spacing, headings...) would be half applied: set such values in
 * console.css instead, as overrides of Mantine's variables. Component default props are fine.
 */
export const theme = createTheme({
  components: {
    Button: { defaultProps: { radius: 'md' } },
    Paper: { defaultProps: { radius: 'md' } },
    Modal: { defaultProps: { lockScroll: false, centered: true } },
  },
});
