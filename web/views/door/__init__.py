"""Door-to-door requests: the public form and the console's pages."""
