"""Door-to-door requests (上门服务): the public form and status page, the console pages."""
